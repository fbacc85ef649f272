package registry_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// stubResolver is a resolver whose DNS server answers every A or AAAA
// question with addr (when of that family) and counts the questions.
func stubResolver(t *testing.T, addr netip.Addr, questions *atomic.Int32) *net.Resolver {
	t.Helper()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		client, server := net.Pipe()
		go serveDNS(server, addr, questions)
		return client, nil
	}}
}

// serveDNS answers one query framed as over TCP (a stream connection).
func serveDNS(c net.Conn, addr netip.Addr, questions *atomic.Int32) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return
	}
	q := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, q); err != nil {
		return
	}
	var msg dnsmessage.Message
	if err := msg.Unpack(q); err != nil || len(msg.Questions) != 1 {
		return
	}
	questions.Add(1)
	question := msg.Questions[0]
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: msg.ID, Response: true, Authoritative: true, RecursionAvailable: true},
		Questions: msg.Questions,
	}
	hdr := dnsmessage.ResourceHeader{Name: question.Name, Type: question.Type, Class: dnsmessage.ClassINET, TTL: 60}
	ip := addr.WithZone("")
	switch {
	case question.Type == dnsmessage.TypeA && ip.Is4():
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr, Body: &dnsmessage.AResource{A: ip.As4()}})
	case question.Type == dnsmessage.TypeAAAA && ip.Is6():
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr, Body: &dnsmessage.AAAAResource{AAAA: ip.As16()}})
	}
	b, err := resp.Pack()
	if err != nil {
		return
	}
	binary.BigEndian.PutUint16(n[:], uint16(len(b)))
	_, _ = c.Write(append(n[:], b...))
}

// countingSim is a Sendbird simulator on loopback that counts connections,
// so a test can prove a refused dial never reached it.
func countingSim(t *testing.T) (*httptest.Server, *sendbirdsim.Server, *atomic.Int32) {
	t.Helper()
	sim := sendbirdsim.New(sendbirdsim.Options{})
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, sim, &conns
}

func readSpecialAddrs(t *testing.T) []netip.Addr {
	t.Helper()
	b, err := os.ReadFile("../testdata/special_addrs.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			out = append(out, netip.MustParseAddr(f[0]))
		}
	}
	return out
}

// TestDialGuardSpecialAddresses points an account at a public-looking name
// whose DNS answer is each special-purpose address in turn: every dial is
// refused by the guard (ErrPrivateAddress) before connecting, and the
// loopback listener on the endpoint's port sees no connection.
func TestDialGuardSpecialAddresses(t *testing.T) {
	t.Parallel()
	srv, sim, conns := countingSim(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	acct := sim.Account("http://vendor.ssrf-probe.example:" + port)
	acct.ID = 1
	addrs := readSpecialAddrs(t)
	if len(addrs) < 50 {
		t.Fatalf("%d special addresses, want at least 50", len(addrs))
	}
	for _, addr := range addrs {
		t.Run(addr.String(), func(t *testing.T) {
			t.Parallel()
			var questions atomic.Int32
			r := registry.New(false)
			r.Resolver = stubResolver(t, addr, &questions)
			p, err := r.Client(acct, "v1", providers.Options{MaxRetries: -1, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Check(t.Context())
			if !errors.Is(err, providers.ErrPrivateAddress) {
				t.Errorf("Check with DNS answering %s = %v, want ErrPrivateAddress", addr, err)
			}
			if questions.Load() == 0 {
				t.Error("the stub resolver was never asked: the test did not exercise the dial")
			}
		})
	}
	t.Cleanup(func() {
		if n := conns.Load(); n != 0 {
			t.Errorf("the loopback listener accepted %d connections, want none", n)
		}
	})
}

// TestDialGuardPublicAnswer shows the stub reaches the guard's allowing
// side: a public answer is dialled (and fails to connect, not refused).
func TestDialGuardPublicAnswer(t *testing.T) {
	t.Parallel()
	var questions atomic.Int32
	r := registry.New(false)
	r.Resolver = stubResolver(t, netip.MustParseAddr("192.0.1.1"), &questions) // public, unrouted here
	acct := sendbirdsim.New(sendbirdsim.Options{}).Account("https://vendor.ssrf-probe.example")
	acct.ID = 1
	p, err := r.Client(acct, "v1", providers.Options{MaxRetries: -1, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(t.Context()); err == nil || errors.Is(err, providers.ErrPrivateAddress) {
		t.Errorf("Check with a public answer = %v, want a connection failure, not a refusal", err)
	}
}

// TestDialGuardSandbox: with --demo, a sandbox account reaches its own
// simulator without AllowPrivate; another account with the same endpoint,
// and the sandbox account pointed at another loopback port, are refused.
func TestDialGuardSandbox(t *testing.T) {
	t.Parallel()
	srv, sim, conns := countingSim(t)
	other, _, otherConns := countingSim(t)
	sb := &providers.Sandbox{}
	sb.Allow(1, netip.MustParseAddrPort(srv.Listener.Addr().String()))
	r := registry.New(false)
	r.Sandbox = sb
	opts := providers.Options{MaxRetries: -1}
	check := func(id uint, endpoint string) error {
		t.Helper()
		acct := sim.Account(endpoint)
		acct.ID = id
		p, err := r.Client(acct, endpoint, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Check(t.Context())
		return err
	}
	if err := check(1, srv.URL); err != nil {
		t.Fatalf("sandbox account on its simulator: %v", err)
	}
	if conns.Load() == 0 {
		t.Error("the simulator saw no connection")
	}
	if err := check(2, srv.URL); !errors.Is(err, providers.ErrPrivateAddress) {
		t.Errorf("another account on the simulator's address = %v, want ErrPrivateAddress", err)
	}
	if err := check(1, other.URL); !errors.Is(err, providers.ErrPrivateAddress) {
		t.Errorf("sandbox account on another loopback port = %v, want ErrPrivateAddress", err)
	}
	if n := otherConns.Load(); n != 0 {
		t.Errorf("the other loopback listener accepted %d connections", n)
	}
}
