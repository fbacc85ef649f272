// Package registry builds vendor clients from stored accounts and keeps them
// while the account is unchanged, so token caches and rate limiters live as
// long as the account's settings do.
package registry

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba"
	"github.com/ticketnotes/ticketnotes/providers/feishu"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
)

// Registry builds and caches provider clients.
type Registry struct {
	// AllowPrivate lets clients dial loopback and private addresses.
	AllowPrivate bool
	// Sandbox lists the demo's sandbox accounts (--demo): each may dial its
	// own simulator's loopback address and nothing else internal. nil: none.
	Sandbox *providers.Sandbox
	// Resolver looks up vendor host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// HTTPClient, when set, is used by every client (tests).
	HTTPClient *http.Client
	// Observer, when set, is told of every client's vendor calls (metrics).
	Observer providers.Observer

	once      sync.Once
	shared    *http.Client
	mu        sync.Mutex
	clients   map[uint]cached
	sandboxed map[uint]sandboxClient
}

// sandboxClient is the HTTP client of one sandbox account, whose dial
// guard lets exactly addr through.
type sandboxClient struct {
	addr netip.AddrPort
	hc   *http.Client
}

type cached struct {
	version string
	p       providers.Provider
}

// New returns a registry.
func New(allowPrivate bool) *Registry {
	return &Registry{AllowPrivate: allowPrivate, clients: map[uint]cached{}}
}

// Fields returns the settings and secrets of an account of kind.
func Fields(kind providers.Kind) []providers.Field {
	switch kind {
	case providers.KindAlibaba:
		return alibaba.Fields()
	case providers.KindSendbird:
		return sendbird.Fields()
	case providers.KindFeishu:
		return feishu.Fields()
	}
	return nil
}

// Fields returns the settings and secrets of an account of kind.
func (r *Registry) Fields(kind providers.Kind) []providers.Field { return Fields(kind) }

// httpClient is shared by all clients so connections are pooled; its dialer
// refuses internal addresses unless AllowPrivate is set.
func (r *Registry) httpClient() *http.Client {
	if r.HTTPClient != nil {
		return r.HTTPClient
	}
	r.once.Do(func() {
		var check func(address string) error
		if !r.AllowPrivate {
			check = providers.CheckDialAddress
		}
		r.shared = r.newHTTPClient(check)
	})
	return r.shared
}

// clientFor returns the HTTP client account id dials with: the shared one,
// or for a sandbox account one that also reaches its simulator. r.mu is held.
func (r *Registry) clientFor(id uint) *http.Client {
	addr, ok := r.Sandbox.Addr(id)
	if !ok || r.AllowPrivate || r.HTTPClient != nil {
		return r.httpClient()
	}
	if c, ok := r.sandboxed[id]; ok && c.addr == addr {
		return c.hc
	}
	if r.sandboxed == nil {
		r.sandboxed = map[uint]sandboxClient{}
	}
	hc := r.newHTTPClient(func(address string) error {
		// The dialled address is compared, not the endpoint's host, so DNS
		// cannot widen the allowance.
		if ap, err := netip.ParseAddrPort(address); err == nil && ap == addr {
			return nil
		}
		return providers.CheckDialAddress(address)
	})
	r.sandboxed[id] = sandboxClient{addr: addr, hc: hc}
	return hc
}

// newHTTPClient returns a client whose dialer runs check (when not nil) on
// every resolved address before connecting.
func (r *Registry) newHTTPClient(check func(address string) error) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: r.Resolver}
	if check != nil {
		d.Control = func(_, address string, _ syscall.RawConn) error { return check(address) }
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	t.Proxy = nil // vendor calls go direct; a proxy would bypass the dial check
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

// Client returns the client for acct, building it when the account is new
// or changed (version differs). It returns the vendor's validation error
// (providers.ErrInvalid) for incomplete credentials.
func (r *Registry) Client(acct providers.Account, version string, opts providers.Options) (providers.Provider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clients == nil {
		r.clients = map[uint]cached{}
	}
	if c, ok := r.clients[acct.ID]; ok && c.version == version && acct.ID != 0 {
		return c.p, nil
	}
	opts.HTTPClient = r.clientFor(acct.ID)
	if opts.Observer == nil {
		opts.Observer = r.Observer
	}
	p, err := Build(acct, opts)
	if err != nil {
		return nil, err
	}
	if acct.ID != 0 {
		r.clients[acct.ID] = cached{version: version, p: p}
	}
	return p, nil
}

// Forget drops the cached client of an account (deleted or edited).
func (r *Registry) Forget(id uint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.clients, id)
}

// Build makes a new client for acct without caching it.
func Build(acct providers.Account, opts providers.Options) (providers.Provider, error) {
	switch acct.Kind {
	case providers.KindAlibaba:
		return alibaba.New(acct, opts)
	case providers.KindSendbird:
		return sendbird.New(acct, opts)
	case providers.KindFeishu:
		return feishu.New(acct, opts)
	}
	return nil, &providers.Error{Provider: acct.Kind, Op: "build client", Kind: providers.ErrInvalid,
		Err: fmt.Errorf("unknown provider kind %q", acct.Kind)}
}
