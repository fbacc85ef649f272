package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Pinger answers whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health serves GET /healthz.
type Health struct {
	db      Pinger
	version string
}

// NewHealth returns the health handler.
func NewHealth(db Pinger, version string) *Health { return &Health{db: db, version: version} }

// Check answers 200 {"status":"ok"} when the database answers, 503 otherwise.
func (h *Health) Check(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	c.Set(fiber.HeaderCacheControl, "no-store")
	if err := h.db.Ping(ctx); err != nil {
		return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "down"})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": "ok", "version": h.version})
}
