package alibabasim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// ticket is one simulated ticket.
type ticket struct {
	id          string
	title       string
	description string
	created     time.Time
	status      int
	notes       []*note // oldest first
}

// note is one simulated message of a ticket's conversation.
type note struct {
	dialogID    int64
	created     time.Time
	typ         int // 1 card (Schema), 2 text (Content)
	status      int // 1 unread, 2 read; 6 as in the doc example
	schema      string
	content     string
	role        int // 2 agent, 3 customer, other: system
	name        string
	attachments []attachment
}

type attachment struct {
	Name string `json:"Name"`
	URL  string `json:"Url"`
}

// Ticket statuses as ListTickets labels them.
var statusLabels = map[int]string{
	1: "Pending response",
	2: "In progress",
	3: "Waiting for feedback",
	4: "Feedback received",
	5: "Pending confirmation",
	6: "Completed",
}

// statusNames are the StatusList values the ListTickets page lists.
var statusNames = map[string]int{
	"assigned": 1, "dealing": 2, "wait_feedback": 3, "wait-feedback": 3,
	"feedback": 4, "wait_confirm": 5, "confirmed": 6,
}

var titles = []string{
	"ECS backup failed",
	"ECS 续费失败是什么原因",
	"OSS バケットにアクセスできません",
	"RDS instance stuck in \"Restarting\" 🔄",
	"SLB health check keeps failing",
	"域名解析不生效",
	"請求書の金額について",
	"<b>bold</b> title from a careless form",
	"CDN cache not refreshing 😩",
	"函数计算冷启动太慢",
}

var customerTexts = []string{
	"Why did the ECS backup fail last night? Snapshot policy sp-123 shows an error.",
	"我这边的实例 i-bp1abc 续费一直失败，请帮忙看看。",
	"バケット example-bucket に 403 が返されます。権限は変更していません。",
	"Thanks! 🙏 It works now 🎉",
	"<script>alert(1)</script> is what our log shows in the request body.",
	"The hostname field contains \" onmouseover=\"alert(1) — is that a problem?",
	"已按照您的建议重启，问题依旧 😢",
	"再起動後も同じエラーが出ます。ログを添付します。",
	"Please escalate, production is down.",
}

var agentTexts = []string{
	"Hello, we have received your ticket and are looking into it.",
	"您好，已为您核实，续费失败是因为账户余额不足。",
	"お問い合わせありがとうございます。バケットポリシーをご確認ください。",
	"Could you share the <b>exact</b> error message and the time it happened?",
	"已为您刷新缓存，请稍后再试 👍",
	"The snapshot failed because the disk was being resized. Please retry now.",
	"ご不便をおかけして申し訳ございません。担当エンジニアに確認中です。",
}

// longText is over a thousand characters, mixing scripts.
var longText = strings.Repeat("Detailed analysis 详细分析 詳細な分析: the instance restarted because of an out-of-memory event; "+
	"内存不足导致实例重启；メモリ不足によりインスタンスが再起動しました。", 12)

var cards = []string{
	`{"title":"工单已分配 Ticket assigned","fields":[{"label":"Engineer","value":"Li Wei"},{"label":"Severity","value":"null"},{"label":"SLA","value":"4h"}]}`,
	`{"header":"満足度調査","content":"対応はいかがでしたか？ 😊","link":{"text":"評価する","url":"https://workorder.example/rate?id=1"}}`,
	`{"title":"Ticket status changed","from":"dealing","to":"wait_confirm","note":"<script>alert(1)</script>"}`,
}

// newTicketID makes ids shaped like Alibaba's ("0005PYGCW").
func newTicketID(r *rand.Rand, taken map[string]*ticket) string {
	const alnum = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	for {
		b := []byte("000")
		for range 6 + r.IntN(2) {
			b = append(b, alnum[r.IntN(len(alnum))])
		}
		if id := string(b); taken[id] == nil {
			return id
		}
	}
}

// generate fills s with seeded tickets and notes; s.mu must be held or s
// not yet shared.
func (s *Server) generate(opts Options, now time.Time) {
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0xa11baba))
	span := time.Duration(opts.Days) * 24 * time.Hour
	at := func(after time.Time) time.Time {
		d := now.Sub(after)
		if d <= 0 {
			return after
		}
		return after.Add(time.Duration(r.Int64N(int64(d)))).Truncate(time.Millisecond)
	}

	for i := range opts.Tickets {
		created := now.Add(-time.Duration(r.Int64N(int64(span)))).Truncate(time.Millisecond)
		t := &ticket{
			id:          newTicketID(r, s.byID),
			title:       titles[i%len(titles)],
			description: customerTexts[r.IntN(len(customerTexts))],
			created:     created,
			status:      1 + r.IntN(6),
		}
		// The first message is the customer's description.
		t.notes = append(t.notes, &note{dialogID: s.nextDialogID(), created: created, typ: 2, status: 2,
			schema: "null", content: t.description, role: 3, name: s.userName})
		s.tickets = append(s.tickets, t)
		s.byID[t.id] = t
	}

	for i := range max(opts.Notes-opts.Tickets, 0) {
		t := s.tickets[r.IntN(len(s.tickets))]
		n := &note{dialogID: s.nextDialogID(), created: at(t.created), status: 2, schema: "null"}
		// The first few cover every kind; the rest are random.
		kind := i
		if kind >= 8 {
			kind = r.IntN(8)
		}
		switch kind {
		case 0, 1, 2:
			n.typ, n.role, n.name = 2, 2, "agent"
			n.content = agentTexts[r.IntN(len(agentTexts))]
			if r.IntN(3) == 0 {
				n.status = 1
			}
		case 3, 4:
			n.typ, n.role, n.name = 2, 3, s.userName
			n.content = customerTexts[r.IntN(len(customerTexts))]
		case 5:
			// A system card with a Schema to render.
			n.typ, n.role, n.name = 1, 1, "system"
			n.schema = cards[r.IntN(len(cards))]
			n.content = ""
		case 6:
			// A card whose Schema is "null", as in the documented example.
			n.typ, n.role, n.name, n.status = 1, 2, "agent", 6
			n.content = "ECS backup failed"
		case 7:
			n.typ, n.role, n.name = 2, 2, "agent"
			n.content = longText
		}
		if r.IntN(6) == 0 {
			n.attachments = []attachment{{
				Name: fmt.Sprintf("%03d.jpg", r.IntN(1000)),
				URL: fmt.Sprintf("https://gts-workorder.oss-cn-beijing.aliyuncs.com/%s/%08x/image.png",
					n.created.Format("20060102"), r.Uint32()),
			}}
		}
		t.notes = append(t.notes, n)
	}

	for _, t := range s.tickets {
		slices.SortStableFunc(t.notes, func(a, b *note) int { return a.created.Compare(b.created) })
	}
	slices.SortStableFunc(s.tickets, func(a, b *ticket) int { return b.created.Compare(a.created) })
}

// nextDialogID hands out increasing DialogIds.
func (s *Server) nextDialogID() int64 {
	s.dialogSeq++
	return s.dialogSeq
}

// json is a note as ListTicketNotes shows it.
func (n *note) json() map[string]any {
	atts := n.attachments
	if atts == nil {
		atts = []attachment{}
	}
	return map[string]any{
		"Type":       n.typ,
		"Status":     n.status,
		"Tip":        "null",
		"DialogId":   n.dialogID,
		"CreateTime": n.created.UnixMilli(),
		"Dialog": map[string]any{
			"Schema":  n.schema,
			"Content": n.content,
		},
		"User": map[string]any{
			"Role": n.role,
			"Name": n.name,
		},
		"Attachments": atts,
	}
}

// json is a ticket as ListTickets shows it.
func (t *ticket) json() map[string]any {
	return map[string]any{
		"TicketId": t.id,
		"Title":    t.title,
		"Status": map[string]any{
			"Label": statusLabels[t.status],
			"Value": fmt.Sprint(t.status),
		},
	}
}
