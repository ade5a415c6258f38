package pool

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftrt/weft/scheduler"
	"github.com/weftrt/weft/task"
)

// onTasks splits b.N iterations of body over n tasks on ex and waits for them all.
func onTasks(b *testing.B, ex task.Executor, n int, body func(iters int)) {
	b.Helper()
	hs := make([]*task.JoinHandle[struct{}], n)
	b.ResetTimer()
	for i := range hs {
		iters := b.N / n
		if i < b.N%n {
			iters++
		}
		hs[i] = task.Spawn(ex, func(context.Context) (struct{}, error) {
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

// BenchmarkGetRelease compares a Get+Release cycle on a warm pool of 8 with the
// simplest pool there is, a buffered channel, under 1, 8 and 64 tasks on 2 workers. With
// 2 workers and 8 resources a Get always finds one idle: the fast path.
func BenchmarkGetRelease(b *testing.B) { benchGetRelease(b, 8) }

// BenchmarkGetReleaseSize1 shares one resource between the 2 workers, so Gets also queue.
func BenchmarkGetReleaseSize1(b *testing.B) { benchGetRelease(b, 1) }

func benchGetRelease(b *testing.B, size int) {
	for _, tasks := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("weft/tasks=%d", tasks), func(b *testing.B) {
			b.ReportAllocs()
			s := scheduler.New(scheduler.Workers(2))
			defer s.Close()
			p, err := New[*res](Funcs[*res]{
				ConnectFunc: func(context.Context) (*res, error) { return &res{}, nil },
			}, Executor(s), MaxSize(size))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			warm(b, p, size)
			ctx := context.Background()
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

// warm waits until n resources are idle, so that the timed loop measures checkouts, not
// opens.
func warm(b *testing.B, p *Pool[*res], n int) {
	b.Helper()
	cs := make([]*Conn[*res], n)
	for i := range cs {
		c, err := p.Get(context.Background()).Join()
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	for _, c := range cs {
		c.Release()
	}
}
