package models

/*
#include <stdlib.h>
#include <malloc.h>

static int tn_arenas_capped;

// tn_limit_arenas caps glibc's malloc arenas at 2 unless MALLOC_ARENA_MAX
// says otherwise; other C libraries have no arenas and nothing to do. A
// constructor, so it runs when the program loads, before Go starts the
// threads whose first malloc would each take an arena.
__attribute__((constructor)) static void tn_limit_arenas(void) {
#ifdef M_ARENA_MAX
	if (getenv("MALLOC_ARENA_MAX") == NULL && mallopt(M_ARENA_MAX, 2) == 1) {
		tn_arenas_capped = 1;
	}
#endif
}

static int tn_capped(void) { return tn_arenas_capped; }
*/
import "C"

// SQLite allocates with the C library's malloc from whichever OS thread
// runs the cgo call, and Go runs those calls on many threads. glibc gives
// threads their own arenas (up to 8 per core), each keeping what SQLite
// freed: the server's C memory was about 110 MB during a million-note
// backfill, and about 40 MB with two arenas (BENCHMARKS.md, "Memory and
// page latency during a 1M backfill"). The C constructor above sets the
// cap; MALLOC_ARENA_MAX, when set, chooses another.

// arenasCapped reports whether the constructor capped glibc's arenas.
func arenasCapped() bool { return C.tn_capped() == 1 }
