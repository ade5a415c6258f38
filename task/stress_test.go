package task

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrt/weft/scheduler"
)

// A random mix of everything a task can do while waiting: inline joins,
// joins of stolen or running tasks, waits on futures completed by other
// tasks and by plain goroutines, Block, Then continuations, channel servers,
// Fork/Join, Yield.
// Every path must finish, at every worker count, with nothing lost.
func TestStressMixedWaits(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		s := scheduler.New(scheduler.Workers(workers))
		var ran atomic.Int64
		var cont atomic.Int64
		srvCh := NewChan[int](s)
		var served atomic.Int64
		_ = srvCh.Serve(func(v int, err error) bool {
			if err == nil {
				served.Add(1)
			}
			return err == nil
		})
		var body func(depth int, r *rand.Rand) int
		body = func(depth int, r *rand.Rand) int {
			ran.Add(1)
			if depth == 0 {
				return 1
			}
			switch r.IntN(8) {
			case 0: // fork-join
				seed := r.Uint64()
				h := Spawn(s, func(context.Context) (int, error) {
					return body(depth-1, rand.New(rand.NewPCG(seed, 1))), nil
				})
				a := body(depth-1, r)
				b, _ := h.Join()
				return a + b
			case 1: // wait on a future a later task completes
				o := NewOneshot[int](s)
				Spawn(s, func(context.Context) (int, error) { return 0, o.Send(1) }).Detach()
				v, _ := o.Recv().Join()
				return v + body(depth-1, r)
			case 2: // wait on a future a plain goroutine completes
				f := NewFuture[int](s)
				go f.Complete(1, nil)
				v, _ := f.Join()
				return v + body(depth-1, r)
			case 3: // block on something the scheduler does not know
				ch := make(chan int, 1)
				go func() { ch <- 1 }()
				var v int
				scheduler.Block(func() { v = <-ch })
				return v + body(depth-1, r)
			case 4: // continuation
				f := NewFuture[int](s)
				done := NewOneshot[int](s)
				f.Then(func(v int, err error) { cont.Add(1); _ = done.Send(v) })
				f.Complete(1, nil)
				v, _ := done.Recv().Join()
				return v + body(depth-1, r)
			case 5: // message to a server
				_ = srvCh.Send(1)
				return 1 + body(depth-1, r)
			case 6: // handle-free fork-join, joined out of order, children that wait too
				child := func(a [2]uint64) int {
					return body(int(a[0]), rand.New(rand.NewPCG(a[1], 3)))
				}
				f1 := Fork(s, child, [2]uint64{uint64(depth - 1), r.Uint64()})
				f2 := Fork(s, child, [2]uint64{uint64(depth - 1), r.Uint64()})
				if r.IntN(2) == 0 {
					return f1.Join() + f2.Join()
				}
				return f2.Join() + f1.Join()
			default: // let others run
				scheduler.Yield()
				return 1 + body(depth-1, r)
			}
		}
		const roots, depth = 256, 10
		var hs []*Future[int]
		for i := 0; i < roots; i++ {
			seed := uint64(i)
			hs = append(hs, Spawn(s, func(context.Context) (int, error) {
				return body(depth, rand.New(rand.NewPCG(seed, 2))), nil
			}).Future())
		}
		all := All(hs...)
		select {
		case <-all.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("workers=%d: stuck; stats %+v", workers, s.Stats())
		}
		if _, err := all.Join(); err != nil {
			t.Fatal(err)
		}
		srvCh.Close()
		s.Close()
		if st := s.Stats(); st.Detached != 0 || st.Queued != 0 {
			t.Fatalf("workers=%d: left over after Close: %+v", workers, st)
		}
		if ran.Load() == 0 || cont.Load() == 0 {
			t.Fatal("nothing ran")
		}
	}
}
