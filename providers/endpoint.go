package providers

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// CheckEndpoint validates an account's endpoint override. Unless
// allowPrivate is set it must be https and must not name a loopback,
// private, link-local or otherwise internal address, so an account cannot
// be used to reach the server's own network. Host names are checked again
// when dialling (see PublicOnlyControl), since DNS may change.
func CheckEndpoint(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("endpoint: must be a plain URL like https://host[:port][/path]: %w", ErrInvalid)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return fmt.Errorf("endpoint: must use https: %w", ErrInvalid)
		}
	default:
		return fmt.Errorf("endpoint: must use https: %w", ErrInvalid)
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return fmt.Errorf("endpoint: %s is a private host: %w", host, ErrInvalid)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !IsPublicAddr(ip) {
		return fmt.Errorf("endpoint: %s is a private address: %w", host, ErrInvalid)
	}
	return nil
}

// IsPublicAddr reports whether ip is a globally routable unicast address.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range internalPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 internals
}

// ErrPrivateAddress is returned by a dial to an internal address.
var ErrPrivateAddress = fmt.Errorf("dial to a private address refused: %w", ErrForbidden)

// CheckDialAddress returns ErrPrivateAddress when a resolved "ip:port" is
// not public. It is used as a net.Dialer control function.
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
