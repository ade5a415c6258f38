package pool

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/puddle/v2"

	weftpool "github.com/weftrt/weft/pool"
	"github.com/weftrt/weft/scheduler"
	"github.com/weftrt/weft/task"
)

type res struct{ n int }

func connect(context.Context) (*res, error) { return &res{}, nil }

// onTasks splits b.N iterations of body over n tasks on s and waits for them all. Every
// contender runs inside the same harness, so the figures differ only by the pool.
func onTasks(b *testing.B, s *scheduler.Scheduler, n int, body func(iters int)) {
	b.Helper()
	hs := make([]*task.JoinHandle[struct{}], n)
	b.ResetTimer()
	for i := range hs {
		iters := b.N / n
		if i < b.N%n {
			iters++
		}
		hs[i] = task.Spawn(s, func(context.Context) (struct{}, error) {
			body(iters)
			return struct{}{}, nil
		})
	}
	for _, h := range hs {
		if _, err := h.Join(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRelease: a warm pool of 8, so that with 2 workers a Get always finds a
// resource idle: the fast path.
func BenchmarkGetRelease(b *testing.B) { benchGetRelease(b, 8) }

// BenchmarkGetReleaseSize1: a pool of 1 shared by both workers, so that Gets also queue:
// the waiting path (a future per queued Get for weft, a parked goroutine for puddle and
// the channel).
func BenchmarkGetReleaseSize1(b *testing.B) { benchGetRelease(b, 1) }

func benchGetRelease(b *testing.B, size int) {
	ctx := context.Background()
	for _, tasks := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("weft/tasks=%d", tasks), func(b *testing.B) {
			b.ReportAllocs()
			s := scheduler.New(scheduler.Workers(2))
			defer s.Close()
			p, err := weftpool.New[*res](weftpool.Funcs[*res]{ConnectFunc: connect},
				weftpool.Executor(s), weftpool.MaxSize(size))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			cs := make([]*weftpool.Conn[*res], size)
			for i := range cs {
				if cs[i], err = p.Get(ctx).Join(); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range cs {
				c.Release()
			}
			onTasks(b, s, tasks, func(iters int) {
				for range iters {
					c, err := p.Get(ctx).Join()
					if err != nil {
						panic(err)
					}
					c.Release()
				}
			})
		})
		b.Run(fmt.Sprintf("puddle/tasks=%d", tasks), func(b *testing.B) {
			b.ReportAllocs()
			s := scheduler.New(scheduler.Workers(2))
			defer s.Close()
			p, err := puddle.NewPool(&puddle.Config[*res]{
				Constructor: connect,
				Destructor:  func(*res) {},
				MaxSize:     int32(size),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			for range size {
				if err := p.CreateResource(ctx); err != nil {
					b.Fatal(err)
				}
			}
			onTasks(b, s, tasks, func(iters int) {
				for range iters {
					r, err := p.Acquire(ctx)
					if err != nil {
						panic(err)
					}
					r.Release()
				}
			})
		})
		b.Run(fmt.Sprintf("chan/tasks=%d", tasks), func(b *testing.B) {
			b.ReportAllocs()
			s := scheduler.New(scheduler.Workers(2))
			defer s.Close()
			ch := make(chan *res, size)
			for range size {
				ch <- &res{}
			}
			onTasks(b, s, tasks, func(iters int) {
				for range iters {
					r := <-ch
					ch <- r
				}
			})
		})
	}
}
