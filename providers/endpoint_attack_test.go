package providers_test

import (
	"bufio"
	"errors"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"

	"github.com/ticketnotes/ticketnotes/providers"
)

// attack is one endpoint form of testdata/endpoint_attacks.txt.
type attack struct {
	class, endpoint string
}

// readAttacks parses testdata/endpoint_attacks.txt: a class name and a Go
// quoted endpoint per line; # starts a comment.
func readAttacks(t *testing.T) []attack {
	t.Helper()
	f, err := os.Open("testdata/endpoint_attacks.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []attack
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		class, quoted, ok := strings.Cut(line, " ")
		raw, err := strconv.Unquote(strings.TrimSpace(quoted))
		if !ok || err != nil {
			t.Fatalf("endpoint_attacks.txt:%d: want `class \"endpoint\"`, got %q", n, line)
		}
		if seen[class] {
			t.Fatalf("endpoint_attacks.txt:%d: class %s twice", n, class)
		}
		seen[class] = true
		out = append(out, attack{class, raw})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// legitimateEndpoints must keep passing: the vendors' default endpoints and
// ordinary public hosts.
var legitimateEndpoints = []string{
	"https://workorder.aliyuncs.com/",
	"https://workorder.cn-hangzhou.aliyuncs.com/",
	"https://desk-api-2a8e5f0c-1b2d-4e6f-9a7b-3c4d5e6f7a8b.sendbird.com",
	"https://open.feishu.cn",
	"https://open.larksuite.com/",
	"https://example.com:8443/x",
	"https://api.example.com/v1",
	"https://API.Example.COM/v1",
	"https://my-vendor.example.co.uk:443/api/",
	"https://3com.example.com/",
	"https://bücher.example/",
	"https://xn--bcher-kva.example/",
	"https://8.8.8.8/",
	"https://1.1.1.1:443",
	"https://172.32.0.1/",
	"https://100.128.0.1/",
	"https://[2001:4860:4860::8888]/",
	"https://[2606:4700:4700::1111]:8443/",
}

// TestEndpointAttackForms refuses every form of the attack corpus when an
// admin saves an account, and accepts the legitimate endpoints.
func TestEndpointAttackForms(t *testing.T) {
	t.Parallel()
	attacks := readAttacks(t)
	if len(attacks) < 77 {
		t.Fatalf("the corpus has %d classes, want at least 77", len(attacks))
	}
	for _, a := range attacks {
		err := providers.CheckEndpoint(a.endpoint, false)
		if err == nil {
			t.Errorf("%s: CheckEndpoint(%q) accepted it", a.class, a.endpoint)
			continue
		}
		if !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: CheckEndpoint(%q) = %v, want ErrInvalid", a.class, a.endpoint, err)
		}
	}
	for _, raw := range legitimateEndpoints {
		if err := providers.CheckEndpoint(raw, false); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v, want it accepted", raw, err)
		}
	}
}

// TestEndpointStrictEvenWhenPrivateAllowed: --allow-private-endpoints
// lifts the address check, not the parsing: numeric shorthands, IDNA
// tricks, user info and zone ids stay refused.
func TestEndpointStrictEvenWhenPrivateAllowed(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/", "http://①②⑦.0.0.1/",
		"http://localhost./", "http://good.example.com@127.0.0.1/", "http://[fe80::1%25eth0]/",
		"http://[127.0.0.1]/", "http://127.0.0.1:0/", "file:///etc/passwd",
	} {
		if err := providers.CheckEndpoint(raw, true); err == nil {
			t.Errorf("CheckEndpoint(%q, allowPrivate) accepted it", raw)
		}
	}
}

// TestSandboxEndpoint: a demo sandbox account may keep its simulator's
// exact loopback address; nothing else on loopback, and no other account.
func TestSandboxEndpoint(t *testing.T) {
	t.Parallel()
	sb := &providers.Sandbox{}
	sb.Allow(7, netip.MustParseAddrPort("127.0.0.1:41234"))
	pol := providers.EndpointPolicy{Sandbox: sb}
	tests := []struct {
		raw string
		id  uint
		ok  bool
	}{
		{"http://127.0.0.1:41234", 7, true},
		{"http://127.0.0.1:41234/", 7, true},
		{"http://127.0.0.1:41235", 7, false},   // another port
		{"http://127.0.0.2:41234", 7, false},   // another address
		{"http://localhost:41234", 7, false},   // a name, not the listener
		{"http://127.0.0.1:41234", 8, false},   // another account
		{"http://127.0.0.1:41234", 0, false},   // an account being added
		{"http://10.0.0.1:41234", 7, false},    // private elsewhere
		{"https://api.example.com", 7, true},   // moved to a real vendor
		{"http://api.example.com", 7, false},   // still https only
		{"http://u@127.0.0.1:41234", 7, false}, // strict parsing first
	}
	for _, tt := range tests {
		err := pol.Check(tt.raw, tt.id)
		if got := err == nil; got != tt.ok {
			t.Errorf("Check(%q, %d) = %v, want ok %v", tt.raw, tt.id, err, tt.ok)
		}
	}
	// A deleted account's id may come back for a new account: it must not
	// inherit the allowance.
	sb.Forget(7)
	if err := pol.Check("http://127.0.0.1:41234", 7); err == nil {
		t.Error("a forgotten sandbox account kept its allowance")
	}
	var none *providers.Sandbox
	none.Forget(7)
	if none.Allows(7, netip.MustParseAddrPort("127.0.0.1:41234")) {
		t.Error("a nil Sandbox allowed an address")
	}
}

// readSpecialAddrs returns testdata/special_addrs.txt: one or more
// addresses of every special-purpose block IsPublicAddr must refuse. The
// registry's dial test answers each of them from DNS.
func readSpecialAddrs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/special_addrs.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			out = append(out, f[0])
		}
	}
	return out
}

func TestIsPublicAddrSpecialPurpose(t *testing.T) {
	t.Parallel()
	for _, s := range readSpecialAddrs(t) {
		if providers.IsPublicAddr(netip.MustParseAddr(s)) {
			t.Errorf("IsPublicAddr(%s) = true, want false", s)
		}
		host := s
		if strings.Contains(s, ":") {
			host = "[" + s + "]"
		}
		if err := providers.CheckDialAddress(host + ":443"); !errors.Is(err, providers.ErrPrivateAddress) {
			t.Errorf("CheckDialAddress(%s:443) = %v, want ErrPrivateAddress", host, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.0.1.1", "198.20.0.1",
		"223.255.255.254", "2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001::200e"} {
		if !providers.IsPublicAddr(netip.MustParseAddr(s)) {
			t.Errorf("IsPublicAddr(%s) = false, want true", s)
		}
	}
}

// inetAton reads s the lenient way C's inet_aton and WHATWG URL hosts do:
// one to four parts, each decimal, 0x-hex or 0-octal, the last filling
// the remaining bytes. It reports whether s is such an IPv4 form.
func inetAton(s string) bool {
	s = strings.TrimSuffix(s, ".")
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" && base != 16 {
			return false
		}
		if p == "" {
			continue
		}
		bits := 8
		if i == len(parts)-1 {
			bits = 8 * (5 - len(parts))
		}
		for _, c := range p {
			if !strings.ContainsRune("0123456789abcdefABCDEF"[:base+max(0, base-10)], c) {
				return false
			}
		}
		if _, err := strconv.ParseUint(p, base, bits); err != nil {
			return false
		}
	}
	return true
}

// FuzzCheckEndpoint: whatever CheckEndpoint accepts, the host net/http
// would dial is a public IP literal or a name no lenient IPv4 parser
// reads as an address, and not localhost.
func FuzzCheckEndpoint(f *testing.F) {
	for _, raw := range legitimateEndpoints {
		f.Add(raw)
	}
	for _, s := range []string{"https://①②⑦.0.0.1/", "https://0x7f.1/", "https://2130706433/", "https://[::ffff:7f00:1]/",
		"https://localhost./", "https://a@127.0.0.1/", "https://127。0。0。1/", "https://0177.0.0.1:8443/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if providers.CheckEndpoint(raw, false) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q, which url.Parse refuses: %v", raw, err)
		}
		host := u.Hostname()
		// net/http maps a non-ASCII host with IDNA's lookup profile.
		if a, err := idna.Lookup.ToASCII(host); err == nil {
			host = a
		}
		host = strings.ToLower(host)
		if ip, err := netip.ParseAddr(host); err == nil {
			if !providers.IsPublicAddr(ip) {
				t.Fatalf("accepted %q, which dials %s", raw, ip)
			}
			return
		}
		if inetAton(host) {
			t.Fatalf("accepted %q, whose host %q a lenient parser reads as IPv4", raw, host)
		}
		if h := strings.TrimSuffix(host, "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
			t.Fatalf("accepted %q, a localhost name", raw)
		}
	})
}

// TestInetAton checks the fuzz oracle itself.
func TestInetAton(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"127.0.0.1": true, "127.1": true, "127.0.1": true, "0x7f.1": true, "2130706433": true, "0177.0.0.1": true,
		"0x7f000001": true, "127.0.0.1.": true, "0": true, "4294967295": true,
		"4294967296": false, "127.0.0.256": false, "1.2.3.4.5": false, "example.com": false, "08.0.0.1": false, "0x7g.1": false,
	} {
		if got := inetAton(s); got != want {
			t.Errorf("inetAton(%q) = %v, want %v", s, got, want)
		}
	}
}
