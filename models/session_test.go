package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
)

func TestNewSetupLinkRevokesThePrevious(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	first, err := db.CreateSetupToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.CreateSetupToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSetupToken(ctx, first); !errors.Is(err, models.ErrExpired) {
		t.Errorf("first link after a second one: %v, want ErrExpired", err)
	}
	if _, err := db.SetupFirstAdmin(ctx, first, models.NewUser{Email: "a@example.com", Password: "password-123"}); !errors.Is(err, models.ErrExpired) {
		t.Errorf("setup with the revoked link: %v, want ErrExpired", err)
	}
	if err := db.CheckSetupToken(ctx, second); err != nil {
		t.Errorf("newest link: %v", err)
	}
}

func TestSetPasswordMovesTheSessionEpoch(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, models.NewUser{Email: "a@example.com", Role: models.RoleAdmin, Password: "password-123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(ctx, u.ID, "password-456"); err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SessionEpoch == u.SessionEpoch {
		t.Errorf("session epoch %d unchanged by a password reset", got.SessionEpoch)
	}
	// A weak password changes nothing, the epoch included.
	if err := db.SetPassword(ctx, u.ID, "short"); err == nil {
		t.Fatal("weak password accepted")
	}
	again, _ := db.UserByID(ctx, u.ID)
	if again.SessionEpoch != got.SessionEpoch {
		t.Errorf("a refused reset moved the epoch %d → %d", got.SessionEpoch, again.SessionEpoch)
	}
}
