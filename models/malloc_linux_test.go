package models

import (
	"os"
	"testing"
)

// The arena cap is set when the program loads (glibc only: other C
// libraries have nothing to cap).
func TestMallocArenasAreCapped(t *testing.T) {
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); set {
		t.Skip("MALLOC_ARENA_MAX is set: the environment chooses the cap")
	}
	if _, err := os.Stat("/lib/x86_64-linux-gnu/libc.so.6"); err != nil {
		if _, err := os.Stat("/lib/aarch64-linux-gnu/libc.so.6"); err != nil {
			t.Skip("not glibc")
		}
	}
	if !arenasCapped() {
		t.Fatal("glibc's malloc arenas are not capped")
	}
}
