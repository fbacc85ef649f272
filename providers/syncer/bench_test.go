package syncer

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba"
	"github.com/ticketnotes/ticketnotes/providers/feishu"
	"github.com/ticketnotes/ticketnotes/providers/sandbox"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
)

// BenchmarkBackfill runs a backfill of the three simulators seeded with
// sandbox.Scale(SYNC_BENCH_NOTES) notes (default 30000) into the fake
// store, with the rate limit lifted, and reports notes archived per second
// and vendor calls per account. It measures the engine, the clients and the
// simulators, not a database.
func BenchmarkBackfill(b *testing.B) {
	n := 30000
	if v, err := strconv.Atoi(os.Getenv("SYNC_BENCH_NOTES")); err == nil && v > 0 {
		n = v
	}
	for b.Loop() {
		b.StopTimer()
		o := sandbox.Scale(n)
		o.Seed = 1
		sb, err := sandbox.Start(o)
		if err != nil {
			b.Fatal(err)
		}
		opts := providers.Options{RateLimit: 1e6, Burst: 1}
		store := newFakeStore()
		e := New(store, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		for i, acct := range sb.Accounts {
			acct.ID = uint(i + 1)
			var src any
			switch acct.Kind {
			case providers.KindAlibaba:
				src, err = alibaba.New(acct, opts)
			case providers.KindSendbird:
				src, err = sendbird.New(acct, opts)
			default:
				src, err = feishu.New(acct, opts)
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Add(acct.ID, src); err != nil {
				b.Fatal(err)
			}
		}
		meters := []func() int{
			func() int { return sb.Alibaba.Meter.Stats().Requests },
			func() int { return sb.Sendbird.Meter.Stats().Requests },
			func() int { return sb.Feishu.Meter.Stats().Requests },
		}
		b.StartTimer()
		start := time.Now()
		done := make(chan error, 3)
		for id := uint(1); id <= 3; id++ {
			go func() {
				_, err := e.Pass(context.Background(), id, false)
				done <- err
			}()
		}
		for range 3 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		total := 0
		for id := uint(1); id <= 3; id++ {
			total += len(store.live(id))
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "notes/s")
		b.ReportMetric(float64(total), "notes")
		b.ReportMetric(float64(meters[0]()), "alibaba-calls")
		b.ReportMetric(float64(meters[1]()), "sendbird-calls")
		b.ReportMetric(float64(meters[2]()), "feishu-calls")
		sb.Close()
		b.StartTimer()
	}
}
