package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/ticketnotes/ticketnotes/models"
)

// MetricsAction is the audit action of a refused scrape.
const MetricsAction = "metrics.scrape"

// Metrics serves /metrics on the dashboard's own port to a scraper that
// sends the configured bearer token. Without a token configured the route
// does not exist there (404): the metrics are never open on the public
// port.
type Metrics struct {
	*Base
	// token is the SHA-256 of the configured token, so the comparison
	// takes as long whatever the length sent; nil when none is set.
	token []byte
	serve fiber.Handler
}

// NewMetrics returns the /metrics handler serving h to requests carrying
// token; an empty token answers every request 404.
func NewMetrics(b *Base, token string, h http.Handler) *Metrics {
	m := &Metrics{Base: b}
	if token != "" && h != nil {
		sum := sha256.Sum256([]byte(token))
		m.token = sum[:]
		m.serve = adaptor.HTTPHandler(h)
	}
	return m
}

// Scrape answers the metrics to a request with the right token. It returns
// 404 when no token is configured, and 401 for a missing or wrong token,
// recorded as a denied attempt (bounded per client like every refusal).
func (m *Metrics) Scrape(c *fiber.Ctx) error {
	if m.token == nil {
		return fiber.ErrNotFound
	}
	sent, ok := bearer(c.Get(fiber.HeaderAuthorization))
	sum := sha256.Sum256([]byte(sent))
	if !ok || subtle.ConstantTimeCompare(sum[:], m.token) != 1 {
		msg := "wrong bearer token"
		if !ok {
			msg = "no bearer token"
		}
		_ = m.Record(c, Event{Action: MetricsAction, Target: c.Method() + " " + c.Path(), Outcome: models.OutcomeDenied, Message: msg})
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
		return fiber.NewError(http.StatusUnauthorized)
	}
	return m.serve(c)
}

// bearer takes the token from an Authorization header value; ok is false
// when there is none.
func bearer(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
