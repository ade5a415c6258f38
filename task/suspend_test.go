package task

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/weftrt/weft/scheduler"
)

// A chain of tasks, each waiting on a future only a later task completes,
// at one worker: every wait hands the worker on, every resume hands one back.
func TestSuspensionChain(t *testing.T) {
	for _, workers := range []int{1, 2} {
		s := newSched(t, workers)
		const N = 200
		links := make([]*Oneshot[int], N+1)
		for i := range links {
			links[i] = NewOneshot[int](s)
		}
		var hs []*Future[int]
		for i := 0; i < N; i++ {
			hs = append(hs, Spawn(s, func(context.Context) (int, error) {
				v, err := links[i+1].Recv().Join() // filled by a task spawned later
				if err != nil {
					return 0, err
				}
				if scheduler.Current() != s {
					return 0, errors.New("resumed off a worker")
				}
				return v, links[i].Send(v + 1)
			}).Future())
		}
		last := Spawn(s, func(context.Context) (int, error) { return 0, links[N].Send(0) })
		mustJoin(t, last.Future())
		vals := mustJoin(t, All(hs...))
		if vals[0] != N-1 {
			t.Fatalf("workers=%d chain value %d", workers, vals[0])
		}
		if mustJoin(t, links[0].Recv()) != N {
			t.Fatal("chain head")
		}
	}
}

func TestAwaitInsideTask(t *testing.T) {
	s := newSched(t, 1)
	never := NewFuture[int](s)
	h := Spawn(s, func(context.Context) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if _, err := never.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		if scheduler.Current() != s {
			return 0, errors.New("not back on a worker")
		}
		soon := Spawn(s, func(context.Context) (int, error) { return 7, nil })
		return soon.Await(context.Background())
	})
	if v, err := joinWithin(t, h.Future()); v != 7 || err != nil {
		t.Fatalf("%v %v", v, err)
	}
	// The abandoned waiter fires harmlessly when never completes later.
	never.Complete(1, nil)
}

// Block keeps the width of the pool while a task blocks on something the
// scheduler does not know about.
func TestBlockInsideTask(t *testing.T) {
	s := newSched(t, 1)
	ch := make(chan int)
	a := Spawn(s, func(context.Context) (int, error) {
		var v int
		scheduler.Block(func() { v = <-ch })
		if scheduler.Current() != s {
			return 0, errors.New("not back on a worker")
		}
		return v, nil
	})
	b := Spawn(s, func(context.Context) (int, error) { ch <- 4; return 0, nil })
	if v, err := joinWithin(t, a.Future()); v != 4 || err != nil {
		t.Fatalf("%v %v", v, err)
	}
	mustJoin(t, b.Future())
}

// A worker parked for a suspended owner (nothing else queued) must still be
// given to a spare goroutine when work arrives, and the owner must get a
// worker back afterwards.
func TestLazyParkedWorkerServesNewWork(t *testing.T) {
	s := newSched(t, 1)
	o := NewOneshot[int](s)
	a := Spawn(s, func(context.Context) (int, error) {
		v, err := o.Recv().Join()
		if scheduler.Current() != s {
			return 0, errors.New("not back on a worker")
		}
		return v, err
	})
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Detached != 1 { // a is suspended, its worker parked
		if time.Now().After(deadline) {
			t.Fatal("task never suspended")
		}
		runtime.Gosched()
	}
	b := Spawn(s, func(context.Context) (int, error) { return 0, o.Send(11) })
	mustJoin(t, b.Future())
	if v := mustJoin(t, a.Future()); v != 11 {
		t.Fatal(v)
	}
	// And the direct path: resumed while its worker is still parked.
	o2 := NewOneshot[int](s)
	c := Spawn(s, func(context.Context) (int, error) { return o2.Recv().Join() })
	for s.Stats().Detached != 1 {
		if time.Now().After(deadline) {
			t.Fatal("task never suspended")
		}
		runtime.Gosched()
	}
	_ = o2.Send(12) // from outside the pool
	if v := mustJoin(t, c.Future()); v != 12 {
		t.Fatal(v)
	}
}
