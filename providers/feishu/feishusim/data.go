package feishusim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// user is a ticket guest or agent.
type user struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

// ticket is a helpdesk ticket in the vendor's shape; messages are its chat.
type ticket struct {
	TicketID   string `json:"ticket_id"`
	HelpdeskID string `json:"helpdesk_id"`
	Guest      user   `json:"guest"`
	Agents     []user `json:"agents"`
	Status     int    `json:"status"`
	TicketType int    `json:"ticket_type"`
	Channel    int    `json:"channel"`
	Solve      int    `json:"solve"`
	CreatedAt  int64  `json:"created_at"` // epoch ms
	UpdatedAt  int64  `json:"updated_at"` // epoch ms

	messages []message // oldest first
}

// message is a ticket message in the vendor's shape; role is what the
// simulator knows about its author, for tests.
type message struct {
	ID          string `json:"id"`
	MessageID   string `json:"message_id"`
	MessageType string `json:"message_type"`
	CreatedAt   int64  `json:"created_at"` // epoch ms
	Content     string `json:"content"`
	UserName    string `json:"user_name"`
	AvatarURL   string `json:"avatar_url"`
	UserID      string `json:"user_id"`

	role providers.Role
}

// MessageInfo describes one stored message, for tests to compare a
// client's notes against.
type MessageInfo struct {
	TicketID string
	// ID is the ticket-message id (the page's 工单消息ID), MessageID the
	// chat message_id (chat消息ID); they always differ, as at the vendor.
	ID        string
	MessageID string
	Type      string
	CreatedAt time.Time
	Role      providers.Role
	Content   string
}

// Messages returns every stored message, newest first.
func (s *Server) Messages() []MessageInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MessageInfo
	for _, t := range s.tickets {
		for _, m := range t.messages {
			out = append(out, MessageInfo{
				TicketID: t.TicketID, ID: m.ID, MessageID: m.MessageID, Type: m.MessageType,
				CreatedAt: time.UnixMilli(m.CreatedAt).UTC(), Role: m.role, Content: m.Content,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// NoteCount returns how many messages are stored across all tickets.
func (s *Server) NoteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tickets {
		n += len(t.messages)
	}
	return n
}

// TicketIDs returns the ticket ids, oldest ticket first.
func (s *Server) TicketIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.tickets))
	for i, t := range s.tickets {
		ids[i] = t.TicketID
	}
	return ids
}

// TicketCreated returns when ticket id was created, and whether it exists.
func (s *Server) TicketCreated(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[id]
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(t.CreatedAt).UTC(), true
}

// newID returns a fresh 19-digit numeric id, as the helpdesk uses; step
// spreads ids so they do not look sequential. Callers hold s.mu or run
// before the server is shared.
func (s *Server) newID(step uint64) string {
	s.lastID += step
	return fmt.Sprintf("%d", s.lastID)
}

// kinds of generated messages.
const (
	kindCustomerText = iota
	kindAgentText
	kindAgentPost
	kindCustomerImage
	kindCustomerFile
	kindCustomerMedia
	kindSystem
	kindBotText
	numKinds
)

// kindWeights sets how often each kind appears after the first numKinds
// messages, which cover every kind once.
var kindWeights = [numKinds]int{30, 25, 10, 7, 6, 4, 8, 10}

var (
	guestNames = []string{"张伟", "Alice Martin", "佐藤 花子", "Émile Dubois", "王芳 🌸", "O'Brien <Sean>"}
	agentNames = []string{"李宁", "Jordan Lee", "山田 太郎"}

	customerTexts = []string{
		"Hi, I can't sign in to the admin console since this morning (error 403).",
		"你好，我的报销单一直显示“审批中”，已经三天了，能帮忙看一下吗？",
		"すみません、先月の請求書PDFがダウンロードできません。",
		"Thanks a lot, it works now! 🙏🎉",
		"<script>alert(1)</script>",
		`" onmouseover="alert(1)`,
		"Is <b>bold</b> allowed here? & what about <i>this</i>?",
		longText(),
		"还是不行 😢 截图已经发你了",
	}
	agentTexts = []string{
		"进入人工服务。 @李宁  为你提供服务，开始聊起来吧~",
		"We have reset your permissions, please sign out and in again.",
		"ご不便をおかけして申し訳ございません。ただいま確認しております。",
		"已为你重新提交审批流程，请留意飞书通知 👍",
		"Could you send a screenshot of the error? <img src=x onerror=alert(1)>",
	}
	botTexts = []string{
		"您好，我是服务台机器人，请描述您的问题。",
		"Hello! I'm the helpdesk bot. An agent will be with you shortly.",
		"こんにちは。担当者におつなぎします。",
	}
	systemTexts = []string{
		"工单已创建",
		"会话已转接至人工客服",
		"Ticket closed by agent",
	}
	fileNames  = []string{"报错截图.zip", "invoice-2024-03.pdf", "ログ_2024.txt", "report <final>.docx"}
	mediaNames = []string{"screen-recording.mp4", "复现视频.mov"}
)

// longText is a customer message over 1000 characters, in three languages.
func longText() string {
	para := "Steps to reproduce / 复现步骤 / 再現手順: open the approval page, pick the March report, " +
		"click export and wait. 页面一直转圈，没有任何报错。ページが読み込み中のままです。 "
	return strings.Repeat(para, 8) + "End."
}

// generate fills the helpdesk: credentials, tickets and their chats.
func (s *Server) generate(opts Options) {
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x6665697368753031))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	s.appID = "cli_" + hex(16)
	s.appSecret = hex(32)
	s.helpdeskID = fmt.Sprintf("69%017d", rng.Int64N(1e17))
	s.helpdeskToken = "ht-" + hex(32)
	s.lastID = 6948728206392295444 + uint64(rng.IntN(1_000_000))
	s.bot = user{ID: "ou_" + hex(32), Name: "服务台机器人", AvatarURL: "https://avatar.example.com/helpdesk-bot.png"}

	var agents []user
	for _, n := range agentNames {
		id := "ou_" + hex(32)
		agents = append(agents, user{ID: id, Name: n, AvatarURL: "https://avatar.example.com/" + id + ".png"})
	}
	statuses := []int{1, 2, 3, 4, 5, 50, 51, 52}
	for i := range opts.Tickets {
		gid := "ou_" + hex(32)
		t := &ticket{
			TicketID:   s.newID(1 + uint64(rng.IntN(1_000_000))),
			HelpdeskID: s.helpdeskID,
			Guest:      user{ID: gid, Name: guestNames[i%len(guestNames)], AvatarURL: "https://avatar.example.com/" + gid + ".png"},
			Agents:     []user{agents[i%len(agents)]},
			Status:     statuses[rng.IntN(len(statuses))],
			TicketType: 2,
			Channel:    0,
			Solve:      1 + rng.IntN(2),
		}
		if rng.IntN(3) == 0 {
			t.Agents = append(t.Agents, agents[(i+1)%len(agents)])
		}
		s.tickets = append(s.tickets, t)
	}

	// Each ticket is opened at a random time in the window and talked
	// about for a while after: with few tickets the talk spans the window,
	// with many it is a day or so.
	now := s.now()
	window := time.Duration(opts.Days) * 24 * time.Hour
	span := min(window, max(24*time.Hour, window*4/time.Duration(opts.Tickets)))
	for _, t := range s.tickets {
		t.CreatedAt = now.Add(-time.Duration(rng.Int64N(int64(window)))).UnixMilli()
	}
	var used [numKinds]int
	for i := range opts.Notes {
		t := s.tickets[rng.IntN(len(s.tickets))]
		created := time.UnixMilli(t.CreatedAt)
		room := min(span, now.Sub(created))
		at := created.Add(time.Duration(rng.Int64N(int64(room) + 1))).Truncate(time.Millisecond)
		kind := i
		if i >= numKinds {
			kind = weighted(rng)
		}
		m := s.makeMessage(t, kind, used[kind], at)
		used[kind]++
		t.messages = append(t.messages, m)
	}

	for _, t := range s.tickets {
		sort.SliceStable(t.messages, func(i, j int) bool { return t.messages[i].CreatedAt < t.messages[j].CreatedAt })
		t.UpdatedAt = t.CreatedAt
		if len(t.messages) > 0 {
			t.UpdatedAt = t.messages[len(t.messages)-1].CreatedAt
		}
	}
	sort.SliceStable(s.tickets, func(i, j int) bool { return s.tickets[i].CreatedAt < s.tickets[j].CreatedAt })
	for _, t := range s.tickets {
		s.byID[t.TicketID] = t
	}
}

func weighted(rng *rand.Rand) int {
	total := 0
	for _, w := range kindWeights {
		total += w
	}
	n := rng.IntN(total)
	for k, w := range kindWeights {
		if n < w {
			return k
		}
		n -= w
	}
	return kindCustomerText
}

// makeMessage builds the nth message of a kind in t. Contents use the
// forms the helpdesk returns: the {"content", "msg_type"} wrapper of the
// list page's example for chat text and rich text, and the IM message
// forms ({"text"}, {"image_key"}, {"file_key", "file_name"}) elsewhere, so
// clients meet both.
func (s *Server) makeMessage(t *ticket, kind, n int, at time.Time) message {
	m := message{ID: s.newID(7), MessageID: s.newID(13), CreatedAt: at.UnixMilli()}
	guest, agent := t.Guest, t.Agents[n%len(t.Agents)]
	from := func(u user, role providers.Role) {
		m.UserName, m.AvatarURL, m.UserID, m.role = u.Name, u.AvatarURL, u.ID, role
	}
	switch kind {
	case kindCustomerText:
		from(guest, providers.RoleCustomer)
		m.MessageType, m.Content = "text", wrap("text", customerTexts[n%len(customerTexts)])
	case kindAgentText:
		from(agent, providers.RoleAgent)
		m.MessageType, m.Content = "text", wrap("text", agentTexts[n%len(agentTexts)])
	case kindAgentPost:
		from(agent, providers.RoleAgent)
		m.MessageType, m.Content = "post", postContent(guest, n)
	case kindCustomerImage:
		from(guest, providers.RoleCustomer)
		m.MessageType, m.Content = "image", encode(map[string]any{"image_key": fmt.Sprintf("img_v2_%04d_%s", n, t.TicketID[12:])})
	case kindCustomerFile:
		from(guest, providers.RoleCustomer)
		m.MessageType, m.Content = "file", encode(map[string]any{
			"file_key": fmt.Sprintf("file_v2_%04d_%s", n, t.TicketID[12:]), "file_name": fileNames[n%len(fileNames)],
		})
	case kindCustomerMedia:
		from(guest, providers.RoleCustomer)
		m.MessageType, m.Content = "media", encode(map[string]any{
			"file_key": fmt.Sprintf("file_v2_%04d_m", n), "image_key": fmt.Sprintf("img_v2_%04d_cover", n),
			"file_name": mediaNames[n%len(mediaNames)], "duration": 12000 + n,
		})
	case kindSystem:
		// Helpdesk notices carry no user id.
		m.UserName, m.role = "服务台", providers.RoleSystem
		m.MessageType, m.Content = "text", wrap("text", systemTexts[n%len(systemTexts)])
	case kindBotText:
		// The helpdesk bot is neither the ticket's guest nor one of its
		// agents: a system sender.
		from(s.bot, providers.RoleSystem)
		m.MessageType, m.Content = "text", encode(map[string]any{"text": botTexts[n%len(botTexts)]})
	}
	return m
}

// wrap is the {"content": …, "msg_type": …} form of the list page.
func wrap(msgType string, content any) string {
	return encode(map[string]any{"content": content, "msg_type": msgType})
}

// postContent is rich text with links, a mention, an emoji and HTML-looking
// text; every other one comes under a locale key.
func postContent(guest user, n int) string {
	post := map[string]any{
		"title": "处理步骤 / Steps",
		"content": [][]map[string]any{
			{{"tag": "text", "text": "请先打开 "}, {"tag": "a", "text": "管理后台", "href": "https://example.com/admin"}, {"tag": "text", "text": " 然后重试。"}},
			{{"tag": "at", "user_id": guest.ID, "user_name": guest.Name}, {"tag": "text", "text": " please read "}, {"tag": "a", "text": "the guide", "href": "https://example.com/guide?lang=en&x=<y>"}},
			{{"tag": "emotion", "emoji_type": "THUMBSUP"}, {"tag": "text", "text": " <b>not bold</b> よろしくお願いします"}},
		},
	}
	if n%2 == 1 {
		return wrap("post", map[string]any{"zh_cn": post})
	}
	return wrap("post", post)
}

func encode(v any) string {
	// Only maps of strings, numbers and such maps reach here; they always
	// encode.
	b, _ := json.Marshal(v)
	return string(b)
}
