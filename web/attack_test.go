package web

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// liveServer serves ts on a real loopback listener: fasthttp reuses its
// request buffers only across real connections, which app.Test does not do.
func liveServer(t *testing.T, ts *testServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// liveClient is a browser on a live server: a cookie jar and the last CSRF
// token seen.
type liveClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newLiveClient(t *testing.T, base string) *liveClient {
	jar, _ := cookiejar.New(nil)
	return &liveClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request; errors are returned, not fatal, so goroutines may call it.
func (c *liveClient) do(method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, string(b), err
}

func (c *liveClient) signIn(email, password string) {
	c.t.Helper()
	if _, _, err := c.do(http.MethodGet, "/login", nil); err != nil {
		c.t.Fatal(err)
	}
	code, _, err := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf}, "email": {email}, "password": {password}})
	if err != nil || code != http.StatusSeeOther {
		c.t.Fatalf("sign in %s: %d %v", email, code, err)
	}
	if _, _, err := c.do(http.MethodGet, "/preferences", nil); err != nil {
		c.t.Fatal(err)
	}
}

var ticketIDRE = regexp.MustCompile(`data-ticket-id="([^"]*)"`)

// TestConcurrentPagesNeverShowAnotherTicketsNotes is defect 1 of issue 8:
// strings taken from one request (route parameters used as cache keys) must
// not change under later requests on other connections.
func TestConcurrentPagesNeverShowAnotherTicketsNotes(t *testing.T) {
	ds := newDemoServer(t)
	base := liveServer(t, ds.testServer)
	// Tickets with notes, per account, from the demo vendors.
	type ticket struct{ account, id string }
	var tickets []ticket
	for _, tk := range ds.demo.Sandbox.Sendbird.Tickets()[:4] {
		tickets = append(tickets, ticket{"2", fmt.Sprint(tk.ID)})
	}
	probe := newLiveClient(t, base)
	probe.signIn(demoAdmin, ds.demo.Password)
	_, list, err := probe.do(http.MethodGet, "/notes?account=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ticketIDRE.FindAllStringSubmatch(list, -1) {
		if !seen[m[1]] && len(seen) < 4 {
			seen[m[1]] = true
			tickets = append(tickets, ticket{"1", m[1]})
		}
	}
	if len(tickets) < 6 {
		t.Fatalf("demo data has too few tickets: %v", tickets)
	}
	const workers, rounds = 10, 60
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*2)
	for w := 0; w < workers; w++ {
		c := newLiveClient(t, base)
		c.signIn(demoAdmin, ds.demo.Password)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				tk := tickets[(w+r)%len(tickets)]
				path := "/tickets/" + tk.account + "/" + tk.id
				code, body, err := c.do(http.MethodGet, path, nil)
				if err != nil || code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %v", path, code, err)
					continue
				}
				ids := ticketIDRE.FindAllStringSubmatch(body, -1)
				if len(ids) == 0 {
					errs <- path + ": no notes"
				}
				for _, m := range ids {
					if m[1] != tk.id {
						errs <- fmt.Sprintf("%s lists a note of ticket %s", path, m[1])
						break
					}
				}
				// The same ticket as a filter of the notes list.
				list := "/notes?account=" + tk.account + "&ticket=" + url.QueryEscape(tk.id)
				if code, body, err := c.do(http.MethodGet, list, nil); err != nil || code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %v", list, code, err)
				} else {
					for _, m := range ticketIDRE.FindAllStringSubmatch(body, -1) {
						if m[1] != tk.id {
							errs <- fmt.Sprintf("%s lists a note of ticket %s", list, m[1])
							break
						}
					}
				}
				// The edit form of the page's first note is found by its
				// own parameters, not another request's.
				if edit := firstEditLink(body); edit != "" {
					if code, _, err := c.do(http.MethodGet, edit, nil); err != nil || code != http.StatusOK {
						errs <- fmt.Sprintf("%s: %d %v", edit, code, err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 10 {
		t.Errorf("… %d failures in all", n)
	}
}

var editLinkRE = regexp.MustCompile(`data-testid="note-edit" href="([^"?]*)`)

// firstEditLink returns the path of the page's first edit link, or "".
func firstEditLink(body string) string {
	if m := editLinkRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}
