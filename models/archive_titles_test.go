package models_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
)

func TestTicketTitlesOfAPage(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := newAccount(t, db, "feishu"), newAccount(t, db, "alibaba")
	if err := db.StoreTickets(ctx, a, []providers.Ticket{{ID: "7", Title: "登录失败"}, {ID: "8", Title: "Refund"}, {ID: "9"}}, day(3)); err != nil {
		t.Fatal(err)
	}
	// The same ticket id at another account is another ticket.
	if err := db.StoreTickets(ctx, b, []providers.Ticket{{ID: "7", Title: "Certificate expired"}}, day(3)); err != nil {
		t.Fatal(err)
	}
	got, err := db.TicketTitles(ctx, []models.TicketRef{{Account: a, Ticket: "7"}, {Account: a, Ticket: "7"}, {Account: a, Ticket: "9"}, {Account: a, Ticket: "404"}, {Account: b, Ticket: "7"}, {Account: b, Ticket: "8"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[models.TicketRef]string{{Account: a, Ticket: "7"}: "登录失败", {Account: b, Ticket: "7"}: "Certificate expired"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("titles = %v, want %v", got, want)
	}
	if got, err := db.TicketTitles(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no refs: %v, %v", got, err)
	}
}
