package models

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
)

// niceOf is the nice value of OS thread tid.
func niceOf(t *testing.T, tid int) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p // the raw syscall's value is 20 - nice
}

// A sync write runs backgroundNice lower than the caller, on a thread of
// its own; the caller's thread keeps its priority and f's error comes back.
func TestInBackgroundLowersOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine := syscall.Gettid()
	before := niceOf(t, mine)
	var inside, tid int
	boom := errors.New("boom")
	err := inBackground(func() error {
		tid = syscall.Gettid()
		inside = niceOf(t, tid)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("inBackground returned %v, want f's error", err)
	}
	if tid == mine {
		t.Fatal("f ran on the caller's thread")
	}
	if want := min(19, before+backgroundNice); inside != want {
		t.Errorf("nice inside = %d, want %d", inside, want)
	}
	if got := niceOf(t, mine); got != before {
		t.Errorf("caller's nice = %d after, want %d", got, before)
	}
}
