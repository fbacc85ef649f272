package registry_test

import (
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// validAccounts returns, per kind, an account whose settings a client
// accepts; the endpoint is a documentation address nothing dials.
func validAccounts(t *testing.T) map[providers.Kind]providers.Account {
	t.Helper()
	const endpoint = "https://vendor.example.com"
	return map[providers.Kind]providers.Account{
		providers.KindAlibaba:  alibabasim.New(alibabasim.Options{}).Account(endpoint),
		providers.KindSendbird: sendbirdsim.New(sendbirdsim.Options{}).Account(endpoint),
		providers.KindFeishu:   feishusim.New(feishusim.Options{}).Account(endpoint),
	}
}

// clone copies acct's maps so a test case can change them.
func clone(acct providers.Account) providers.Account {
	acct.Settings = maps.Clone(acct.Settings)
	acct.Secrets = maps.Clone(acct.Secrets)
	return acct
}

func TestFields(t *testing.T) {
	t.Parallel()
	for _, k := range providers.Kinds {
		fields := registry.Fields(k)
		if len(fields) == 0 {
			t.Errorf("Fields(%s) is empty", k)
		}
		required := 0
		for _, f := range fields {
			if f.Name == "" || f.Label == "" {
				t.Errorf("Fields(%s) has a field without name or label: %+v", k, f)
			}
			if f.Required {
				required++
			}
		}
		if required == 0 {
			t.Errorf("Fields(%s) has no required field", k)
		}
		if got := len(registry.New(false).Fields(k)); got != len(fields) {
			t.Errorf("(*Registry).Fields(%s) has %d fields, want %d", k, got, len(fields))
		}
	}
	for _, k := range []providers.Kind{"", "zendesk", "Sendbird"} {
		if got := registry.Fields(k); got != nil {
			t.Errorf("Fields(%q) = %v, want nil", k, got)
		}
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	accounts := validAccounts(t)
	for k, acct := range accounts {
		if k != acct.Kind {
			t.Fatalf("simulator account for %s has kind %s", k, acct.Kind)
		}
		p, err := registry.Build(acct, providers.Options{})
		if err != nil || p == nil {
			t.Errorf("Build(valid %s account) = %v, %v; want a client", k, p, err)
		}
	}

	for _, k := range []providers.Kind{"", "zendesk"} {
		acct := clone(accounts[providers.KindSendbird])
		acct.Kind = k
		p, err := registry.Build(acct, providers.Options{})
		if !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("Build(kind %q) = %v, %v; want ErrInvalid", k, p, err)
		}
	}
}

func TestBuildMissingRequired(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name string
		acct providers.Account
	}
	var tests []testCase
	for k, valid := range validAccounts(t) {
		for _, f := range registry.Fields(k) {
			if !f.Required {
				continue
			}
			where := valid.Settings
			if f.Secret {
				where = valid.Secrets
			}
			if _, ok := where[f.Name]; !ok {
				t.Fatalf("simulator account for %s lacks required field %s", k, f.Name)
			}
			acct := clone(valid)
			if f.Secret {
				acct.Secrets[f.Name] = ""
			} else {
				acct.Settings[f.Name] = ""
				// Settings are trimmed; secrets are taken as given.
				spaces := clone(valid)
				spaces.Settings[f.Name] = "   "
				tests = append(tests, testCase{string(k) + " " + f.Name + " spaces", spaces})
			}
			tests = append(tests, testCase{string(k) + " " + f.Name + " empty", acct})
			acct = clone(valid)
			delete(acct.Settings, f.Name)
			delete(acct.Secrets, f.Name)
			tests = append(tests, testCase{string(k) + " " + f.Name + " absent", acct})
		}
		acct := clone(valid)
		acct.Settings, acct.Secrets = nil, nil
		tests = append(tests, testCase{string(k) + " nothing set", acct})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := registry.Build(tt.acct, providers.Options{})
			if !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Build = %v, %v; want ErrInvalid", p, err)
			}
			if _, err := registry.New(true).Client(tt.acct, "v1", providers.Options{}); !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("Client error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestClientCache(t *testing.T) {
	t.Parallel()
	r := registry.New(false)
	acct := validAccounts(t)[providers.KindSendbird]
	acct.ID = 7
	get := func(acct providers.Account, version string) providers.Provider {
		t.Helper()
		p, err := r.Client(acct, version, providers.Options{})
		if err != nil {
			t.Fatalf("Client(%d, %s): %v", acct.ID, version, err)
		}
		return p
	}

	first := get(acct, "v1")
	if again := get(acct, "v1"); again != first {
		t.Error("same account and version: got a new client, want the cached one")
	}
	edited := get(acct, "v2")
	if edited == first {
		t.Error("new version: got the cached client, want a new one")
	}
	if again := get(acct, "v2"); again != edited {
		t.Error("second call with v2: got a new client, want the cached one")
	}

	other := acct
	other.ID = 8
	if p := get(other, "v2"); p == edited {
		t.Error("other account id: got the first account's client")
	}
	if again := get(acct, "v2"); again != edited {
		t.Error("caching another account replaced this one's client")
	}

	r.Forget(acct.ID)
	forgotten := get(acct, "v2")
	if forgotten == edited {
		t.Error("after Forget: got the old client, want a new one")
	}
	if again := get(acct, "v2"); again != forgotten {
		t.Error("after Forget: the new client was not cached")
	}
	r.Forget(12345) // forgetting an unknown id is harmless

	// An account not stored yet (id 0, e.g. a connection test from the
	// form) is never cached.
	unsaved := acct
	unsaved.ID = 0
	if a, b := get(unsaved, "v1"), get(unsaved, "v1"); a == b {
		t.Error("account id 0: got the same client twice, want no caching")
	}

	// A failed build leaves the cached client alone.
	broken := clone(acct)
	delete(broken.Secrets, "api_token")
	if _, err := r.Client(broken, "v3", providers.Options{}); !errors.Is(err, providers.ErrInvalid) {
		t.Fatalf("Client(broken) error = %v, want ErrInvalid", err)
	}
	if again := get(acct, "v2"); again != forgotten {
		t.Error("a failed build replaced the cached client")
	}
}

// TestDialGuard proves the registry's shared HTTP client refuses loopback
// unless AllowPrivate is set, whatever the account's endpoint says.
func TestDialGuard(t *testing.T) {
	t.Parallel()
	sim := sendbirdsim.New(sendbirdsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	acct.ID = 1
	// No retries: a refused dial is a network error, which reads retry.
	opts := providers.Options{MaxRetries: -1}

	t.Run("private refused", func(t *testing.T) {
		t.Parallel()
		p, err := registry.New(false).Client(acct, "v1", opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Check(t.Context())
		if err == nil {
			t.Fatalf("Check = %+v, want the dial to %s refused", res, srv.URL)
		}
		if !errors.Is(err, providers.ErrForbidden) && !strings.Contains(err.Error(), "private") {
			t.Errorf("Check error = %v, want ErrForbidden or a mention of a private address", err)
		}
		if !errors.Is(err, providers.ErrPrivateAddress) {
			t.Errorf("Check error = %v, want it to wrap ErrPrivateAddress", err)
		}
	})

	t.Run("private allowed", func(t *testing.T) {
		t.Parallel()
		p, err := registry.New(true).Client(acct, "v1", opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Check(t.Context())
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if res.Detail == "" {
			t.Error("Check detail is empty")
		}
	})
}
