package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// Archive benchmarks. The read benchmarks share one synthetic archive
// (ARCHIVE_BENCH_NOTES notes, default 1,000,000, over 3 accounts and two
// years) built once per run through StoreNotes, the way sync stores it. Set
// ARCHIVE_BENCH_DIR to keep the database between runs (it is reused when it
// already holds the wanted number of notes):
//
//	ARCHIVE_BENCH_DIR=/tmp/archive-bench go test -run '^$' -bench Archive -benchtime 200x ./models/
//
// Searches are cached per archive generation; ARCHIVE_BENCH_NOCACHE=1
// turns the cache off so every search reads the archive.

var sentences = map[string][]string{
	"zh": {
		"您好，您的SSL证书已过期，请尽快续费。", "我们已经为您申请退款，预计三个工作日到账。", "服务器无法连接，请检查安全组规则。",
		"请提供实例ID和报错截图，方便我们排查。", "数据库备份失败，磁盘空间不足。", "域名解析已经生效，请清除本地缓存后重试。",
		"发票已开具，请在控制台下载。", "账号登录异常，已临时冻结。", "带宽峰值超出套餐限制，产生了额外费用。",
		"感谢您的耐心等待，问题已经修复。", "证书签发需要验证域名所有权。", "订单支付失败，请更换支付方式。",
		"负载均衡健康检查不通过。", "工单已转交二线技术支持处理。", "请确认是否可以重启实例。",
	},
	"en": {
		"Hello, your SSL certificate has expired; please renew it soon.", "We have issued a refund; it should arrive within three business days.",
		"The server cannot be reached, please check the security group rules.", "Please send the instance ID and a screenshot of the error.",
		"The database backup failed because the disk is full.", "Refunds are processed by the billing team.",
		"The payment failed, please try another card.", "Thanks for your patience, the issue is fixed now.",
		"Can we restart the instance during the maintenance window?", "The invoice is ready to download in the console.",
		"Your account was locked after several failed sign-ins.", "Bandwidth exceeded the plan limit and extra charges apply.",
		"The load balancer health check is failing.", "I escalated the ticket to second-line support.", "Could you confirm the domain ownership?",
	},
	"ja": {
		"SSL証明書の有効期限が切れています。", "返金手続きが完了しました。", "サーバーに接続できません。",
		"インスタンスIDを教えてください。", "データベースのバックアップに失敗しました。", "お支払いに失敗しました。",
		"ご不便をおかけして申し訳ありません。", "問題は解決しました。",
	},
}

var benchLangs = []string{"zh", "zh", "en", "en", "ja"}

// benchNote returns the synthetic note number i of a ticket.
func benchNote(r *rand.Rand, account uint, ticket string, i int, at time.Time) providers.Note {
	lang := benchLangs[r.IntN(len(benchLangs))]
	pool := sentences[lang]
	body := ""
	for k := 0; k <= r.IntN(3); k++ {
		body += pool[r.IntN(len(pool))] + " "
	}
	body += "#" + strconv.Itoa(r.IntN(1_000_000))
	roles := []providers.Role{providers.RoleAgent, providers.RoleCustomer, providers.RoleCustomer, providers.RoleSystem}
	role := roles[r.IntN(len(roles))]
	return providers.Note{
		AccountID: account, TicketID: ticket, ID: ticket + "-" + strconv.Itoa(i),
		AuthorName: "user" + strconv.Itoa(r.IntN(200)), AuthorRole: role,
		Body: body, Content: body, ContentType: "text", CreatedAt: at,
		Raw: []byte(`{"id":"` + ticket + "-" + strconv.Itoa(i) + `","type":"text"}`),
	}
}

// benchArchive is the shared synthetic archive.
type benchArchive struct {
	db       *models.DB
	dir      string
	accounts []uint
	tickets  []benchTicket
	start    time.Time
	span     time.Duration
	notes    int
}

type benchTicket struct {
	account uint
	id      string
	created time.Time
}

var (
	benchOnce sync.Once
	benchArc  *benchArchive
	benchErr  error
)

const benchNotesPerTicket = 30

// loadBenchArchive builds (or reopens) the shared archive.
func loadBenchArchive(b *testing.B) *benchArchive {
	b.Helper()
	benchOnce.Do(func() { benchArc, benchErr = buildBenchArchive() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchArc
}

func buildBenchArchive() (*benchArchive, error) {
	total := 1_000_000
	if v := os.Getenv("ARCHIVE_BENCH_NOTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, err
		}
		total = n
	}
	dir := os.Getenv("ARCHIVE_BENCH_DIR")
	if dir == "" {
		d, err := os.MkdirTemp("", "archive-bench")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		return nil, err
	}
	box, _ := models.NewSecretBox(make([]byte, 32))
	db.SetSecretBox(box)
	// ARCHIVE_BENCH_NOCACHE=1 measures every search read from the archive,
	// as the first request after a write is (see models/searchcache.go).
	if os.Getenv("ARCHIVE_BENCH_NOCACHE") == "1" {
		models.DisableSearchCache(db)
	}
	a := &benchArchive{db: db, dir: dir, notes: total,
		start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), span: 730 * 24 * time.Hour}
	accs, err := db.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for len(accs) < 3 {
		kind := []string{"alibaba", "sendbird", "feishu"}[len(accs)]
		acc, err := db.CreateAccount(ctx, models.AccountInput{Name: kind, Kind: kind})
		if err != nil {
			return nil, err
		}
		accs = append(accs, *acc)
	}
	for _, acc := range accs[:3] {
		a.accounts = append(a.accounts, acc.ID)
	}
	// Tickets are laid out deterministically, so a reused database and
	// this run agree on them.
	r := rand.New(rand.NewPCG(1, 2))
	nTickets := total / benchNotesPerTicket
	for i := range nTickets {
		a.tickets = append(a.tickets, benchTicket{
			account: a.accounts[i%3], id: strconv.Itoa(100000 + i),
			created: a.start.Add(time.Duration(r.Int64N(int64(a.span)))),
		})
	}
	_, have, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{IncludeDeleted: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if have == int64(nTickets*benchNotesPerTicket) {
		return a, nil
	}
	if have != 0 {
		return nil, fmt.Errorf("bench archive in %s holds %d notes, want 0 or %d", dir, have, nTickets*benchNotesPerTicket)
	}
	seen := time.Now().UTC()
	for _, t := range a.tickets {
		notes := make([]providers.Note, benchNotesPerTicket)
		for i := range notes {
			// Notes spread over up to 30 days after the ticket opened.
			notes[i] = benchNote(r, t.account, t.id, i, t.created.Add(time.Duration(r.Int64N(int64(30*24*time.Hour)))))
		}
		if _, err := db.StoreNotes(ctx, t.account, syncer.Scope{TicketID: t.id, Complete: true}, notes, seen); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// BenchmarkArchiveIngest stores fresh notes through StoreNotes, reporting
// notes per second: window batches of 500 notes over 10 tickets (Sendbird)
// and whole-ticket batches of 30 (Alibaba, Feishu), into an empty archive.
func BenchmarkArchiveIngest(b *testing.B) {
	for _, batch := range []int{500, 30} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			db, _ := openDB(b)
			ingest(b, db, newAccount(b, db, "sendbird"), batch)
		})
	}
}

// BenchmarkArchiveIngestAtScale stores 500-note batches into a copy of the
// shared million-note archive, where every index is already large.
func BenchmarkArchiveIngestAtScale(b *testing.B) {
	a := loadBenchArchive(b)
	dir := b.TempDir()
	if err := a.db.Backup(context.Background(), filepath.Join(dir, models.SQLiteFile)); err != nil {
		b.Fatal(err)
	}
	db, err := models.Open(context.Background(), models.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ingest(b, db, a.accounts[1], 500)
}

// ingest stores b.N batches of batch new notes for account.
func ingest(b *testing.B, db *models.DB, account uint, batch int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	batches := make([][]providers.Note, 0, b.N)
	scopes := make([]syncer.Scope, 0, b.N)
	for i := range b.N {
		notes := make([]providers.Note, batch)
		from := start.Add(time.Duration(i*batch) * time.Second)
		for j := range notes {
			ticket := "x" + strconv.Itoa(i*10+j%10)
			if batch < 100 {
				ticket = "x" + strconv.Itoa(i)
			}
			notes[j] = benchNote(r, account, ticket, j, from.Add(time.Duration(j)*time.Second))
		}
		batches = append(batches, notes)
		if batch < 100 {
			scopes = append(scopes, syncer.Scope{TicketID: notes[0].TicketID, Complete: true})
		} else {
			scopes = append(scopes, syncer.Scope{From: from, To: from.Add(time.Duration(batch) * time.Second), Complete: true})
		}
	}
	seen := time.Now().UTC()
	b.ResetTimer()
	t0 := time.Now()
	for i := range b.N {
		if _, err := db.StoreNotes(ctx, account, scopes[i], batches[i], seen); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(t0).Seconds(), "notes/s")
}

// benchCase is one kind of page request; next returns a filter for request
// i, varied so that no answer comes from a warm repeat of the same page.
type benchCase struct {
	name string
	next func(a *benchArchive, r *rand.Rand) models.NoteFilter
}

func (a *benchArchive) randomTicket(r *rand.Rand) benchTicket {
	return a.tickets[r.IntN(len(a.tickets))]
}

var listCases = []benchCase{
	{"default", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Offset: 50 * r.IntN(5)}
	}},
	{"30days", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		from := a.start.Add(time.Duration(r.Int64N(int64(a.span - 30*24*time.Hour))))
		return models.NoteFilter{Accounts: a.accounts, From: from, To: from.Add(30 * 24 * time.Hour)}
	}},
	{"range+account+role+ticket", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		t := a.randomTicket(r)
		return models.NoteFilter{Accounts: []uint{t.account}, TicketID: t.id, Role: providers.RoleCustomer,
			From: t.created, To: t.created.Add(30 * 24 * time.Hour)}
	}},
}

var searchCases = []benchCase{
	{"zh-2char", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Query: []string{"证书", "退款", "实例", "发票"}[r.IntN(4)]}
	}},
	{"en-word", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Query: []string{"refund", "invoice", "certificate", "bandwidth"}[r.IntN(4)]}
	}},
	{"prefix", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Query: []string{"refu*", "inv*", "certif*", "bandw*"}[r.IntN(4)]}
	}},
	{"phrase", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Query: []string{`"payment failed"`, `"disk is full"`, `"health check"`, `"second-line support"`}[r.IntN(4)]}
	}},
	{"zh-2char+newest", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		return models.NoteFilter{Accounts: a.accounts, Query: []string{"证书", "退款", "实例", "发票"}[r.IntN(4)], Sort: models.SortNewest}
	}},
	{"en-word+30days", func(a *benchArchive, r *rand.Rand) models.NoteFilter {
		from := a.start.Add(time.Duration(r.Int64N(int64(a.span - 30*24*time.Hour))))
		return models.NoteFilter{Accounts: a.accounts, Query: "refund", From: from, To: from.Add(30 * 24 * time.Hour)}
	}},
}

// runCase serves one request of c the way the notes page does: the page of
// notes, its total, and for a search the highlighted bodies.
func runCase(b testing.TB, a *benchArchive, c benchCase, r *rand.Rand) {
	f := c.next(a, r)
	notes, _, _, err := a.db.ListArchivedNotes(context.Background(), f)
	if err != nil {
		b.Fatal(err)
	}
	if f.Query != "" {
		for _, n := range notes {
			_ = models.Highlight(n.Body, f.Query)
		}
	}
}

func BenchmarkArchiveList(b *testing.B) {
	a := loadBenchArchive(b)
	for _, c := range listCases {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 6))
			for range b.N {
				runCase(b, a, c, r)
			}
		})
	}
}

func BenchmarkArchiveSearch(b *testing.B) {
	a := loadBenchArchive(b)
	for _, c := range searchCases {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 6))
			for range b.N {
				runCase(b, a, c, r)
			}
		})
	}
}

// latencies runs n requests of c from clients goroutines at once and
// returns their durations, sorted.
func latencies(b testing.TB, a *benchArchive, c benchCase, n, clients int) []time.Duration {
	out := make([]time.Duration, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range next {
				t0 := time.Now()
				runCase(b, a, c, r)
				out[i] = time.Since(t0)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(out)
	return out
}

// BenchmarkArchiveP99 measures each case's p50 and p99 over ARCHIVE_P99_N
// requests (default 800) from ARCHIVE_P99_CLIENTS concurrent clients
// (default 16; 1 shows a request's own time, without queueing), and the database's
// size per million notes. It runs only under -bench; b.N is ignored.
func BenchmarkArchiveP99(b *testing.B) {
	a := loadBenchArchive(b)
	n := 800
	if v := os.Getenv("ARCHIVE_P99_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	clients := 16
	if v := os.Getenv("ARCHIVE_P99_CLIENTS"); v != "" {
		clients, _ = strconv.Atoi(v)
	}
	// A running server's 16 connections are open and their schema read;
	// one round of the default view opens them here, unmeasured. (The
	// search cache stays cold: each search case starts with its reads.)
	latencies(b, a, listCases[0], 16, 16)
	for _, c := range append(slices.Clone(listCases), searchCases...) {
		b.Run(c.name, func(b *testing.B) {
			lat := latencies(b, a, c, n, clients)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	var size int64
	for _, f := range []string{models.SQLiteFile, models.SQLiteFile + "-wal"} {
		if st, err := os.Stat(filepath.Join(a.dir, f)); err == nil {
			size += st.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6/(float64(a.notes)/1e6), "MB/1M-notes")
}
