//go:build benchpprof

package main

// A bench-only build (go build -tags benchpprof) serves net/http/pprof on
// TICKETNOTES_BENCH_PPROF (e.g. 127.0.0.1:6060), so bench/sync-1m.sh can
// take heap profiles of the server while it syncs. The product has no
// such endpoint.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("TICKETNOTES_BENCH_PPROF"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
