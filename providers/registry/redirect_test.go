package registry_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// TestVendorRedirectsRefused drives each real vendor client at an
// endpoint that redirects (302 and 307, which keeps the body) to another
// host: the call fails with ErrRedirect, and the other host receives
// nothing, so neither the Sendbird token header, the Feishu app_secret
// body nor Alibaba's signed request leaves for it.
func TestVendorRedirectsRefused(t *testing.T) {
	t.Parallel()
	accounts := map[providers.Kind]providers.Account{
		providers.KindAlibaba:  alibabasim.New(alibabasim.Options{}).Account(""),
		providers.KindSendbird: sendbirdsim.New(sendbirdsim.Options{}).Account(""),
		providers.KindFeishu:   feishusim.New(feishusim.Options{}).Account(""),
	}
	for kind, acct := range accounts {
		for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
			t.Run(string(kind)+"/"+http.StatusText(status), func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				var leaked []string
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					var hdr []string
					for k, v := range r.Header {
						hdr = append(hdr, k+"="+strings.Join(v, ","))
					}
					leaked = append(leaked, r.Method+" "+r.URL.String()+" "+strings.Join(hdr, " ")+" "+string(b))
					mu.Unlock()
				}))
				t.Cleanup(other.Close)
				var asked int
				endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					asked++
					mu.Unlock()
					http.Redirect(w, r, other.URL+r.URL.RequestURI(), status)
				}))
				t.Cleanup(endpoint.Close)

				acct := clone(acct)
				acct.ID, acct.Endpoint = 1, endpoint.URL
				// Loopback test servers: the dial guard is not under test here.
				p, err := registry.New(true).Client(acct, "v1", providers.Options{})
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Check(t.Context())
				if !errors.Is(err, providers.ErrRedirect) {
					t.Errorf("Check = %v, want ErrRedirect", err)
				}
				if pe := providers.AsError(err); pe == nil || pe.Provider != kind || pe.Status != status {
					t.Errorf("Check error = %#v, want a %s error with status %d", pe, kind, status)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(leaked) != 0 {
					t.Errorf("the other host received %d requests: %q", len(leaked), leaked)
				}
				if asked != 1 {
					t.Errorf("the endpoint was asked %d times, want once (no retry of a redirect)", asked)
				}
			})
		}
	}
}
