package models

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// The gate holds at most max(2, GOMAXPROCS) reads; a read that cannot get
// in waits, and gives up with its context.
func TestReadGateQueuesAndHonoursTheContext(t *testing.T) {
	g := newReadGate()
	if want := max(2, runtime.GOMAXPROCS(0)); cap(g) != want {
		t.Fatalf("gate holds %d, want %d", cap(g), want)
	}
	var leaves []func()
	for range cap(g) {
		leave, err := g.enter(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leave)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		leave, err := g.enter(ctx)
		if err == nil {
			leave()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("entered a full gate (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait = %v, want context.Canceled", err)
	}
	// A slot given back lets the next read in.
	leaves[0]()
	leave, err := g.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	leave()
	for _, l := range leaves[1:] {
		l()
	}
	if len(g) != 0 {
		t.Fatalf("%d slots still taken", len(g))
	}
}
