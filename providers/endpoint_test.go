package providers_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
)

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		// okStrict and okPrivate say whether the endpoint is accepted with
		// allowPrivate false and true.
		okStrict, okPrivate bool
	}{
		{"https public host", "https://api.example.com/v1", true, true},
		{"https public host with port", "https://api.example.com:8443", true, true},
		{"https public v4", "https://8.8.8.8/", true, true},
		{"https public v6", "https://[2001:4860:4860::8888]/", true, true},
		{"http public host", "http://api.example.com", false, true},

		{"loopback v4", "https://127.0.0.1", false, true},
		{"loopback v4 other", "https://127.8.9.10:443/x", false, true},
		{"loopback v6", "https://[::1]/", false, true},
		{"http loopback", "http://127.0.0.1:8080", false, true},
		{"10/8", "https://10.1.2.3", false, true},
		{"172.16/12 low", "https://172.16.0.1", false, true},
		{"172.16/12 high", "https://172.31.255.254", false, true},
		{"172.32 is public", "https://172.32.0.1", true, true},
		{"192.168/16", "https://192.168.1.1", false, true},
		{"169.254/16 metadata", "https://169.254.169.254/latest", false, true},
		{"100.64/10 low", "https://100.64.0.1", false, true},
		{"100.64/10 high", "https://100.127.255.254", false, true},
		{"100.128 is public", "https://100.128.0.1", true, true},
		{"fc00::/7 fc", "https://[fc00::1]", false, true},
		{"fc00::/7 fd", "https://[fd12:3456::1]", false, true},
		{"fe80:: link-local", "https://[fe80::1]", false, true},
		{"0.0.0.0", "https://0.0.0.0", false, true},
		{":: unspecified", "https://[::]", false, true},
		{"multicast", "https://224.0.0.1", false, true},
		{"localhost", "https://localhost", false, true},
		{"localhost upper case", "https://LOCALHOST:8443", false, true},
		{"x.localhost", "https://x.localhost", false, true},
		{".local", "https://printer.local", false, true},
		{".internal", "https://metadata.google.internal", false, true},
		{"v4-mapped private", "https://[::ffff:10.0.0.1]", false, true},
		{"v4-mapped loopback", "https://[::ffff:127.0.0.1]", false, true},
		{"NAT64 private", "https://[64:ff9b::a00:1]", false, true},

		{"userinfo", "https://user:pass@api.example.com", false, false},
		{"userinfo private", "http://user@127.0.0.1", false, false},
		{"query", "https://api.example.com/?a=b", false, false},
		{"fragment", "https://api.example.com/#x", false, false},
		{"missing host", "https:///path", false, false},
		{"relative", "/just/a/path", false, false},
		{"empty", "", false, false},
		{"ftp", "ftp://api.example.com", false, false},
		{"no scheme", "api.example.com", false, false},
		{"unparsable", "https://[::1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, allow := range []bool{false, true} {
				want := tt.okStrict
				if allow {
					want = tt.okPrivate
				}
				err := providers.CheckEndpoint(tt.raw, allow)
				if got := err == nil; got != want {
					t.Errorf("CheckEndpoint(%q, %v) = %v, want ok %v", tt.raw, allow, err, want)
				}
				if err != nil && !errors.Is(err, providers.ErrInvalid) {
					t.Errorf("CheckEndpoint(%q, %v) = %v, want it to match ErrInvalid", tt.raw, allow, err)
				}
			}
		})
	}
}

func TestIsPublicAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"172.32.0.1", true},
		{"100.128.0.1", true},
		{"2001:4860:4860::8888", true},

		{"127.0.0.1", false},
		{"127.255.255.255", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.0.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"192.0.0.8", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"::", false},
		{"::1", false},
		{"fc00::1", false},
		{"fdff::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"ff02::1", false},
		{"ff01::1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::a00:1", false},
		// An IPv4-mapped form is refused even for a public IPv4 address: a
		// dial to an IPv4 target is checked in its plain form.
		{"::ffff:8.8.8.8", false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.addr)
		if got := providers.IsPublicAddr(ip); got != tt.want {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if providers.IsPublicAddr(netip.Addr{}) {
		t.Error("IsPublicAddr(zero Addr) = true, want false")
	}
}

func TestCheckDialAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		address     string
		wantErr     bool
		wantPrivate bool // the error is ErrPrivateAddress
	}{
		{"8.8.8.8:443", false, false},
		{"[2001:4860:4860::8888]:443", false, false},
		{"127.0.0.1:80", true, true},
		{"[::1]:443", true, true},
		{"10.0.0.1:443", true, true},
		{"192.168.1.1:8080", true, true},
		{"169.254.169.254:80", true, true},
		{"100.64.0.1:443", true, true},
		{"[fe80::1%eth0]:443", true, true},
		{"[fd00::1]:443", true, true},
		{"[::ffff:10.0.0.1]:443", true, true},
		{"0.0.0.0:443", true, true},
		// A name never reaches the control function resolved; refuse it.
		{"example.com:443", true, true},
		{"no-port", true, false},
		{"", true, false},
	}
	for _, tt := range tests {
		err := providers.CheckDialAddress(tt.address)
		if got := err != nil; got != tt.wantErr {
			t.Errorf("CheckDialAddress(%q) = %v, want error %v", tt.address, err, tt.wantErr)
			continue
		}
		if got := errors.Is(err, providers.ErrPrivateAddress); got != tt.wantPrivate {
			t.Errorf("CheckDialAddress(%q) = %v, want ErrPrivateAddress %v", tt.address, err, tt.wantPrivate)
		}
		if tt.wantPrivate && !errors.Is(err, providers.ErrForbidden) {
			t.Errorf("CheckDialAddress(%q) = %v, want it to match ErrForbidden", tt.address, err)
		}
	}
}
