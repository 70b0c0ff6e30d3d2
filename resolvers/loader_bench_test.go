package resolvers

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/sources"
)

// cannedItems answers every batch call with the same bytes, so a benchmark measures the loader.
type cannedItems struct{ body []byte }

func (s *cannedItems) Name() string { return "items" }

func (s *cannedItems) Do(context.Context, *sources.Request) (*sources.Response, error) {
	return &sources.Response{Status: 200, Body: s.body}, nil
}

// BenchmarkLoaders_Load: one client request's flush of n new keys and the wait for every value; cpu-µs/op is
// the process's CPU per op (a batch runs on other goroutines than the caller's).
func BenchmarkLoaders_Load(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint("keys=", n), func(b *testing.B) {
			body := []byte{'['}
			ids := make([]any, n)
			for i := range ids {
				if i > 0 {
					body = append(body, ',')
				}
				body = fmt.Appendf(body, `{"id":%d}`, i)
				ids[i] = fmt.Sprint(i)
			}
			body = append(body, ']')
			r := itemResolver(b, &cannedItems{body: body}, 0)
			keys := keysOf(r, ids...)
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l := NewLoaders()
				for _, p := range l.Load(ctx, r, Vars{}, keys) {
					if _, err := p.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
				l.Wait()
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
