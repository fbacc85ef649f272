package views

import "testing"

func TestAccountColorIsStableAndCycles(t *testing.T) {
	if AccountColor(1) != AccountColor(1) || AccountColor(1) == AccountColor(2) {
		t.Fatalf("colours of accounts 1 and 2: %q, %q", AccountColor(1), AccountColor(2))
	}
	if got := AccountColor(9); got != "acct-1" {
		t.Fatalf("AccountColor(9) = %q, want acct-1 (eight colours, by id)", got)
	}
}
