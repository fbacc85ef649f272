package providers

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/idna"
)

// CheckEndpoint validates an account's endpoint override under the global
// policy alone (no sandbox accounts); see EndpointPolicy.Check. It returns
// an error matching ErrInvalid when the endpoint is refused.
func CheckEndpoint(raw string, allowPrivate bool) error {
	return EndpointPolicy{AllowPrivate: allowPrivate}.Check(raw, 0)
}

// EndpointPolicy says which endpoint overrides an account may use. The
// zero policy allows https URLs naming public hosts only.
type EndpointPolicy struct {
	// AllowPrivate (--allow-private-endpoints) lets every account use http
	// and loopback, private or otherwise internal hosts.
	AllowPrivate bool
	// Sandbox holds the demo's own sandbox accounts, each of which may keep
	// the loopback address of its simulator; nil means none.
	Sandbox *Sandbox
}

// Check validates raw as the endpoint of account id (0 for an account not
// saved yet). The URL must be a plain absolute https URL (no user info,
// query, fragment, zone id or numeric shorthand), its host must be a valid
// IDNA name or a canonical IP literal, and, unless AllowPrivate is set, the
// host must not be internal: no special-purpose address (IANA's IPv4 and
// IPv6 registries, IPv4 embeddings such as NAT64, 6to4, Teredo and
// IPv4-mapped), no single-label name and no special-use domain such as
// localhost or .internal. A sandbox account may keep its simulator's exact
// http address. Names are checked again when dialling (CheckDialAddress),
// since DNS may answer anything. It returns an error matching ErrInvalid.
func (p EndpointPolicy) Check(raw string, id uint) error {
	u, host, err := parseEndpoint(raw)
	if err != nil {
		return fmt.Errorf("endpoint: %w: %w", err, ErrInvalid)
	}
	if id != 0 && p.Sandbox != nil {
		if ap, ok := literalAddrPort(u, host); ok && p.Sandbox.Allows(id, ap) {
			return nil
		}
	}
	if p.AllowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("endpoint: must use https: %w", ErrInvalid)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !IsPublicAddr(ip) {
			return fmt.Errorf("endpoint: %s is a special-purpose address: %w", host, ErrInvalid)
		}
		return nil
	}
	if internalName(host) {
		return fmt.Errorf("endpoint: %s is an internal host name: %w", host, ErrInvalid)
	}
	return nil
}

// idnaProfile maps a host the way net/http does before dialling (UTS 46
// lookup mapping, so "①②⑦" becomes "127"), and refuses what IDNA refuses.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.VerifyDNSLength(true))

// parseEndpoint parses raw strictly and returns it with its host in the
// form a dial would use: an IP literal without brackets, or a lower-case
// ASCII (punycode) name.
func parseEndpoint(raw string) (*url.URL, string, error) {
	plain := errors.New("must be a plain URL like https://host[:port][/path]")
	// Backslashes and percent signs in the authority are read differently
	// by browsers, url.Parse and resolvers: refuse rather than guess.
	if strings.ContainsAny(raw, "\\") {
		return nil, "", plain
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.Contains(raw, "#") || strings.ContainsAny(u.Host, "%@") {
		return nil, "", plain
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, "", errors.New("must use https")
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, "", plain
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return nil, "", fmt.Errorf("port %q is not a port number", port)
		}
	}
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		// Only IPv6 goes in brackets, and without a zone: a zone names an
		// interface of this server, and IPv4 forms inside brackets are
		// read differently by different parsers.
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" || strings.Contains(host, "%") {
			return nil, "", fmt.Errorf("host %q is not a plain IPv6 address", host)
		}
		return u, ip.String(), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return u, host, nil
	}
	name, err := idnaProfile.ToASCII(host)
	if err != nil {
		return nil, "", fmt.Errorf("host %q is not a valid host name", host)
	}
	if err := checkHostName(name); err != nil {
		return nil, "", err
	}
	return u, name, nil
}

// checkHostName accepts an ASCII host name of letters, digits and hyphens
// whose last label starts with a letter. That refuses every numeric form
// resolvers read as IPv4 ("2130706433", "0x7f.1", "0177.0.0.1", "127.1",
// and "127.0.0.1" reached through IDNA mapping), and empty labels,
// including a trailing dot.
func checkHostName(name string) error {
	if len(name) > 253 {
		return errors.New("host name is too long")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("host %q is not a valid host name", name)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q is not a valid host name", name)
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] < 'a' || tld[0] > 'z' {
		// The last label of a name is never numeric; when it is, some
		// resolver somewhere reads the host as an IPv4 shorthand.
		return fmt.Errorf("host %q is a numeric address form; write a dotted-quad IPv4 address", name)
	}
	return nil
}

// specialUseDomains are names that never lead to a vendor on the public
// internet: IANA's special-use domain names registry (RFC 6761, 6762,
// 7686, 8375, 9476) and names used for internal networks by convention.
var specialUseDomains = []string{
	"localhost", "local", "internal", "invalid", "test", "onion", "alt", "home.arpa",
	"in-addr.arpa", "ip6.arpa", "localdomain", "lan", "home", "corp", "intranet",
}

// internalName reports whether an ASCII host name is internal by
// definition: a single label (completed by the server's DNS search list)
// or a name under a special-use domain.
func internalName(name string) bool {
	if !strings.Contains(name, ".") {
		return true
	}
	for _, d := range specialUseDomains {
		if name == d || strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// literalAddrPort returns the address and port an endpoint with an IP
// literal host dials, with the scheme's default port.
func literalAddrPort(u *url.URL, host string) (netip.AddrPort, bool) {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// IsPublicAddr reports whether ip is a globally routable unicast address
// outside every special-purpose block: IANA's IPv4 and IPv6
// special-purpose registries, multicast, and IPv6 forms that embed an IPv4
// address (IPv4-mapped, -compatible and -translated, NAT64, 6to4, Teredo,
// ISATAP), since those reach IPv4 addresses the IPv4 check would refuse.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return false
	}
	if ip.Is4() {
		for _, p := range specialV4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	// Only 2000::/3 is allocated as global unicast; this also refuses
	// ::/8 (unspecified, loopback, IPv4-mapped and -compatible), fc00::/7,
	// fe80::/10, ff00::/8 and 64:ff9b::/96.
	if !globalV6.Contains(ip) {
		return false
	}
	for _, p := range specialV6 {
		if p.Contains(ip) {
			return false
		}
	}
	// ISATAP interface ids (RFC 5214) carry an IPv4 address in any prefix.
	b := ip.As16()
	if (b[8]|0x02) == 0x02 && b[9] == 0 && b[10] == 0x5e && b[11] == 0xfe {
		return false
	}
	return true
}

// specialV4 is IANA's IPv4 special-purpose address registry with multicast
// and limited broadcast, globally reachable entries (AS112, AMT) included:
// no vendor API lives there.
var specialV4 = prefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.1 reaches the server itself on some systems
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // carrier-grade NAT
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, cloud metadata
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.31.196.0/24", // AS112-v4
	"192.52.193.0/24", // AMT
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"192.175.48.0/24", // AS112 direct delegation
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, includes 255.255.255.255
)

var globalV6 = netip.MustParsePrefix("2000::/3")

// specialV6 is IANA's IPv6 special-purpose registry inside 2000::/3.
var specialV6 = prefixes(
	"2001::/23",         // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, AMT, AS112
	"2001:db8::/32",     // documentation
	"2002::/16",         // 6to4: embeds an IPv4 address
	"2620:4f:8000::/48", // AS112 direct delegation
	"3fff::/20",         // documentation
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// ErrPrivateAddress is returned by a dial to an internal address.
var ErrPrivateAddress = fmt.Errorf("dial to a private address refused: %w", ErrForbidden)

// CheckDialAddress returns ErrPrivateAddress when a resolved "ip:port" is
// not public (see IsPublicAddr), and an error when address is not an
// "ip:port". It is used as a net.Dialer control function, which sees the
// address after DNS, so a name that resolves to an internal address is
// refused too.
func CheckDialAddress(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !IsPublicAddr(ip) {
		return ErrPrivateAddress
	}
	return nil
}

// Sandbox is the in-memory list of the demo's sandbox accounts and the
// loopback simulator address each may reach (--demo). It lives only as long
// as the server, so the allowance never reaches an account an admin adds or
// a data directory opened without --demo. Its methods are safe for
// concurrent use; a nil *Sandbox allows nothing.
type Sandbox struct {
	mu   sync.RWMutex
	addr map[uint]netip.AddrPort
}

// Allow lets account id reach addr, its simulator.
func (s *Sandbox) Allow(id uint, addr netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == nil {
		s.addr = map[uint]netip.AddrPort{}
	}
	s.addr[id] = addr
}

// Forget drops account id (deleted), so a later account that gets the
// same id does not inherit the allowance.
func (s *Sandbox) Forget(id uint) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.addr, id)
}

// Allows reports whether account id is a sandbox account whose simulator
// listens on addr.
func (s *Sandbox) Allows(id uint, addr netip.AddrPort) bool {
	got, ok := s.Addr(id)
	return ok && got == addr
}

// Addr returns the simulator address of sandbox account id, and false when
// id is not a sandbox account.
func (s *Sandbox) Addr(id uint) (netip.AddrPort, bool) {
	if s == nil {
		return netip.AddrPort{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.addr[id]
	return a, ok
}
