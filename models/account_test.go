package models_test

import (
	"context"
	"errors"
	"math"
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
