package models

import (
	"runtime"
	"syscall"
)

// backgroundNice is how much lower than the process a sync write runs.
const backgroundNice = 10

// inBackground runs f on an OS thread of its own at backgroundNice below
// the process's CPU priority and returns what f returns. A sync pass
// stores notes on the same two cores that render pages: its SQLite and
// tokenizing work (the bulk of a backfill's CPU) then yields to page views
// whenever both want a core, so a backfill slows pages less (BENCHMARKS.md,
// "Memory and page latency during a 1M backfill"). The thread is not given
// back to Go: without CAP_SYS_NICE a thread's priority cannot be raised
// again, so the goroutine exits still locked to it and Go ends the thread.
// If the priority cannot be set, f runs at the normal one.
func inBackground(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tid := syscall.Gettid()
		// getpriority's raw value is 20 - nice.
		if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(19, 20-p+backgroundNice))
		}
		done <- f()
	}()
	return <-done
}
