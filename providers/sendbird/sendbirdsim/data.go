package sendbirdsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

type agent struct {
	id          int64
	displayName string
	sendbirdID  string
	email       string
	role        string // AGENT or ADMIN
	createdAt   time.Time
}

type customer struct {
	id          int64
	displayName string
	sendbirdID  string
}

type ticket struct {
	id          int64
	channelName string
	channelURL  string
	status2     string
	customer    customer
	createdAt   time.Time
	closedAt    *time.Time
}

type note struct {
	id            int64
	ticketID      int64
	text          string
	requestedFrom string // DASHBOARD or PLATFORM_API
	createdBy     *agent // nil for a Platform API note
	createdAt     time.Time
	updatedAt     time.Time
}

// agentJSON is the createdBy object: the agent's ids, name and role.
type agentJSON struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"displayName"`
	SendbirdID  string `json:"sendbirdId"`
	Email       string `json:"email"`
	Role        string `json:"role"`
	CreatedAt   string `json:"createdAt"`
}

type noteJSON struct {
	ID            int64      `json:"id"`
	TicketID      int64      `json:"ticket_id"`
	Note          string     `json:"note"`
	RequestedFrom string     `json:"requestedFrom"`
	CreatedBy     *agentJSON `json:"createdBy"`
	CreatedAt     string     `json:"createdAt"`
	UpdatedAt     string     `json:"updatedAt"`
}

func (n *note) json() noteJSON {
	out := noteJSON{
		ID:            n.id,
		TicketID:      n.ticketID,
		Note:          n.text,
		RequestedFrom: n.requestedFrom,
		CreatedAt:     n.createdAt.Format(timeLayout),
		UpdatedAt:     n.updatedAt.Format(timeLayout),
	}
	if a := n.createdBy; a != nil {
		out.CreatedBy = &agentJSON{ID: a.id, DisplayName: a.displayName, SendbirdID: a.sendbirdID,
			Email: a.email, Role: a.role, CreatedAt: a.createdAt.Format(timeLayout)}
	}
	return out
}

type customerJSON struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"displayName"`
	SendbirdID  string `json:"sendbirdId"`
}

type ticketJSON struct {
	ID          int64        `json:"id"`
	ChannelName string       `json:"channelName"`
	ChannelURL  string       `json:"channelUrl"`
	Status2     string       `json:"status2"`
	Customer    customerJSON `json:"customer"`
	CreatedAt   string       `json:"createdAt"`
	ClosedAt    *string      `json:"closedAt"`
}

func (t *ticket) json() ticketJSON {
	out := ticketJSON{
		ID:          t.id,
		ChannelName: t.channelName,
		ChannelURL:  t.channelURL,
		Status2:     t.status2,
		Customer:    customerJSON{t.customer.id, t.customer.displayName, t.customer.sendbirdID},
		CreatedAt:   t.createdAt.Format(timeLayout),
	}
	if t.closedAt != nil {
		s := t.closedAt.Format(timeLayout)
		out.ClosedAt = &s
	}
	return out
}

var seedAgents = []agent{
	{id: 301, displayName: "Maya Chen", sendbirdID: "desk_agent_maya", email: "maya.chen@example.com", role: "AGENT"},
	{id: 302, displayName: "李娜", sendbirdID: "desk_agent_lina", email: "li.na@example.com", role: "AGENT"},
	{id: 303, displayName: "佐藤 花子", sendbirdID: "desk_agent_hanako", email: "hanako.sato@example.com", role: "AGENT"},
	{id: 304, displayName: "Omar Haddad", sendbirdID: "desk_admin_omar", email: "omar@example.com", role: "ADMIN"},
	{id: 305, displayName: `<b>Eve</b> "night shift"`, sendbirdID: "desk_agent_eve", email: "eve@example.com", role: "AGENT"},
}

var seedCustomers = []customer{
	{id: 9001, displayName: "Alex Johnson", sendbirdID: "user_alex"},
	{id: 9002, displayName: "王伟", sendbirdID: "user_wangwei"},
	{id: 9003, displayName: "山田 太郎", sendbirdID: "user_yamada"},
	{id: 9004, displayName: "Sofia 🌸", sendbirdID: "user_sofia"},
	{id: 9005, displayName: `<img src=x onerror="alert(1)">`, sendbirdID: "user_probe"},
}

var ticketTitles = []string{
	"Refund for order #48213",
	"无法登录我的账户",
	"支払い方法を変更したい",
	"App crashes on launch 😢",
	"<script>alert(1)</script> in my profile name",
	"Delivery delayed — where is my parcel?",
	"发票抬头需要修改",
	"パスワードリセットのメールが届きません",
	"Subscription renewed twice 💸",
	`Cannot upload "invoice.pdf"`,
}

var ticketStatuses = []string{"PENDING", "ACTIVE", "IDLE", "WORK_IN_PROGRESS", "CLOSED", "CLOSED", "ACTIVE"}

// longNote is over 1000 characters, in several languages.
var longNote = strings.Repeat("Customer history, for whoever picks this up next: the first contact was about a "+
	"double charge, then a failed refund, then a card that expired mid-way. ", 6) +
	"\n\n客户多次来电，情绪比较激动，请先道歉再说明退款进度。退款已在财务系统中登记，预计三到五个工作日到账。" +
	"\n\nお客様には返金手続きが完了次第メールでご連絡すると伝えてあります。引き継ぎの際はご確認ください。" +
	"\n\nNext step: confirm with billing, then close. 🙏"

var noteTexts = []string{
	"Called the customer back; they confirmed the refund arrived.",
	"客户说问题已经解决，可以关闭工单。",
	"お客様から追加のスクリーンショットを受け取りました。",
	"Escalated to tier 2 🚀 — waiting on engineering.",
	"<script>alert(1)</script>",
	`Customer's display name contains " onmouseover="alert(1) — do not paste it into templates.`,
	"Marked as <b>bold</b> priority by the team lead.",
	longNote,
	"Customer attached a screenshot: https://files.example.com/desk/attachments/8842/screenshot.png (receipt.pdf also on file)",
	"Duplicate of an earlier ticket; merged history here. 👍",
	"已向物流部门确认，包裹预计明天送达 📦",
	"次回の対応は佐藤が担当します。",
	"VIP customer — handle with care ⭐️⭐️⭐️",
	"Line one\nLine two\n\tindented line three",
	"Refund approved: $42.00 (ref RF-2024-0042).",
	"Automated follow-up: no reply from customer for 48h.",
}

// seed fills s with deterministic data from opts.
func (s *Server) seed(opts Options) {
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5e4db12d))
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := range 36 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			b.WriteByte('-')
			continue
		}
		b.WriteByte(hex[r.IntN(16)])
	}
	s.appID = b.String()
	s.token = fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())

	now := s.now().UTC().Truncate(time.Microsecond)
	span := time.Duration(opts.Days) * 24 * time.Hour
	s.agents = slices.Clone(seedAgents)
	for i := range s.agents {
		s.agents[i].createdAt = now.Add(-span - time.Duration(30+i)*24*time.Hour)
	}

	// Tickets: ids grow with creation time, as the vendor's would.
	created := make([]time.Time, opts.Tickets)
	for i := range created {
		created[i] = now.Add(-time.Duration(r.Int64N(int64(span))))
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	ticketIDs := make([]int64, len(created))
	for i, at := range created {
		id := int64(1001 + i)
		ticketIDs[i] = id
		t := &ticket{
			id:          id,
			channelName: ticketTitles[i%len(ticketTitles)],
			channelURL:  fmt.Sprintf("sendbird_desk_%s_%d", strings.ToLower(s.appID[:8]), id),
			status2:     ticketStatuses[r.IntN(len(ticketStatuses))],
			customer:    seedCustomers[r.IntN(len(seedCustomers))],
			createdAt:   at.Truncate(time.Microsecond),
		}
		if t.status2 == "CLOSED" {
			c := t.createdAt.Add(time.Duration(r.Int64N(int64(now.Sub(t.createdAt)) + 1)))
			t.closedAt = &c
		}
		s.tickets[id] = t
	}

	// Notes: each after its ticket was opened; every text and both origins
	// (an agent on the dashboard, the Platform API) appear.
	type draft struct {
		ticketID int64
		at       time.Time
		i        int
	}
	drafts := make([]draft, opts.Notes)
	for i := range drafts {
		tid := ticketIDs[r.IntN(len(ticketIDs))]
		opened := s.tickets[tid].createdAt
		at := opened.Add(time.Duration(r.Int64N(int64(now.Sub(opened)) + 1)))
		drafts[i] = draft{tid, at.Truncate(time.Microsecond), i}
	}
	slices.SortFunc(drafts, func(a, b draft) int { return a.at.Compare(b.at) })
	for k, d := range drafts {
		s.nextNote = int64(50001 + k)
		n := &note{
			id:            s.nextNote,
			ticketID:      d.ticketID,
			text:          noteTexts[d.i%len(noteTexts)],
			requestedFrom: "DASHBOARD",
			createdAt:     d.at,
			updatedAt:     d.at,
		}
		if d.i%4 == 3 {
			n.requestedFrom = "PLATFORM_API"
		} else {
			a := s.agents[d.i%len(s.agents)]
			n.createdBy = &a
		}
		if d.i%5 == 0 {
			edited := n.createdAt.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))
			if edited.After(now) {
				edited = now
			}
			n.updatedAt = edited
		}
		s.notes[n.id] = n
	}
	if len(drafts) == 0 {
		s.nextNote = 50000
	}
}
