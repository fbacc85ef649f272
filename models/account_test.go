package models_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
)

func TestAccountRateLimitMustBeANumberInRange(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for _, r := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 1000.5} {
		in := models.AccountInput{Name: "x", Kind: "sendbird", RateLimit: r}
		var fe *models.FieldError
		if _, err := db.CreateAccount(ctx, in); !errors.As(err, &fe) || fe.Field != "rate_limit" {
			t.Errorf("create with rate %v: %v, want a rate_limit field error", r, err)
		}
	}
	if as, _ := db.ListAccounts(ctx); len(as) != 0 {
		t.Errorf("%d accounts stored", len(as))
	}
}

// TestListsSortTextByteWise: accounts by name and users by email come in
// the same order on both databases, byte by byte as SQLite compares text,
// whatever collation the PostgreSQL database was created with.
func TestListsSortTextByteWise(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	box, err := models.NewSecretBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db.SetSecretBox(box)
	for _, name := range []string{"beta", "alpha 2", "_ops", "Alpha", "客服"} {
		if _, err := db.CreateAccount(ctx, models.AccountInput{Name: name, Kind: "sendbird"}); err != nil {
			t.Fatal(err)
		}
	}
	as, err := db.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, a.Name)
	}
	if want := []string{"Alpha", "_ops", "alpha 2", "beta", "客服"}; !slices.Equal(got, want) {
		t.Errorf("accounts = %q, want %q", got, want)
	}
	for _, email := range []string{"b@example.com", "a.b@example.com", "a_c@example.com", "ab@example.com"} {
		if _, err := db.CreateUser(ctx, models.NewUser{Email: email, Role: models.RoleManager, Password: "password-123"}); err != nil {
			t.Fatal(err)
		}
	}
	us, err := db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, u := range us {
		got = append(got, u.Email)
	}
	if want := []string{"a.b@example.com", "a_c@example.com", "ab@example.com", "b@example.com"}; !slices.Equal(got, want) {
		t.Errorf("users = %q, want %q", got, want)
	}
}
