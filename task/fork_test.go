package task

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weftrt/weft/scheduler"
)

// forkFib forks both halves above the cutoff, so that joins meet children
// still queued, stolen and running, at any worker count.
func forkFib(a fibArg) int {
	if a.n <= 10 {
		return fibSerial(a.n)
	}
	f1 := Fork(a.s, forkFib, fibArg{a.s, a.n - 1})
	f2 := Fork(a.s, forkFib, fibArg{a.s, a.n - 2})
	y := f2.Join() // newest first: the cheap path
	x := f1.Join()
	return x + y
}

func TestForkJoinWorkers(t *testing.T) {
	for _, n := range []int{1, 2, 8} {
		s := scheduler.New(scheduler.Workers(n))
		root := Spawn(s, func(context.Context) (int, error) { return forkFib(fibArg{s, 30}), nil })
		v, err := joinWithin(t, root.Future())
		// The shape of the benchmark too: one fork per call, the other half here.
		v2, err2 := joinWithin(t, Spawn(s, func(context.Context) (int, error) { return fibFork(fibArg{s, 27}), nil }).Future())
		// And joined out of order: the first child is no longer the newest entry.
		v3, err3 := joinWithin(t, Spawn(s, func(context.Context) (int, error) {
			f1 := Fork(s, forkFib, fibArg{s, 20})
			f2 := Fork(s, forkFib, fibArg{s, 21})
			return f1.Join() + f2.Join(), nil
		}).Future())
		s.Close()
		if st := s.Stats(); st.Ran < st.Spawned || st.Queued != 0 { // Ran also counts wake-ups
			t.Fatalf("workers=%d: stats %+v", n, st)
		}
		if err != nil || v != 832040 || err2 != nil || v2 != 196418 || err3 != nil || v3 != 6765+10946 {
			t.Fatalf("workers=%d fib(30)=%d %v fib(27)=%d %v, %d %v", n, v, err, v2, err2, v3, err3)
		}
	}
}

func TestForkOutsideThePool(t *testing.T) {
	s := scheduler.New(scheduler.Workers(2))
	f := Fork(s, forkFib, fibArg{s, 20})
	if v := f.Join(); v != 6765 {
		t.Fatalf("got %d", v)
	}
	s.Close()
	// Closed to outside work: the child runs at Join.
	f = Fork(s, func(a fibArg) int { return fibSerial(a.n) }, fibArg{s, 10})
	if v := f.Join(); v != 55 {
		t.Fatalf("after close: %d", v)
	}
}

func TestForkJoinTwicePanics(t *testing.T) {
	s := newSched(t, 1)
	f := Fork(s, func(int) int { return 1 }, 0)
	f.Join()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "twice") {
			t.Fatalf("recovered %v", r)
		}
	}()
	f.Join()
}

func TestForkPanicReachesJoiner(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{1, 2} {
		s := newSched(t, n)
		// Inline: the child's panic unwinds through Join as raised.
		_, err := joinWithin(t, Spawn(s, func(context.Context) (v int, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = r.(error)
				}
			}()
			f := Fork(s, func(int) int { panic(boom) }, 0)
			return f.Join(), nil
		}).Future())
		if !errors.Is(err, boom) {
			t.Fatalf("workers=%d inline: %v", n, err)
		}
	}
	// Run elsewhere: while the joiner blocks, its worker goes on without it
	// and runs the child, so Join finds a finished child, not its own entry.
	s := newSched(t, 2)
	started := make(chan struct{})
	_, err := joinWithin(t, Spawn(s, func(context.Context) (v int, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = r.(error)
			}
		}()
		f := Fork(s, func(int) int { close(started); panic(boom) }, 0)
		scheduler.Block(func() { <-started })
		return f.Join(), nil
	}).Future())
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, boom) || len(pe.Stack) == 0 {
		t.Fatalf("stolen: %v", err)
	}
}

func TestForkUnjoinedChildStillRuns(t *testing.T) {
	s := scheduler.New(scheduler.Workers(2))
	var ran atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	s.Go(func() {
		for i := 0; i < 100; i++ {
			Fork(s, func(int) int { ran.Add(1); return 0 }, i)
		}
		wg.Done()
	})
	wg.Wait()
	s.Close() // drains
	if ran.Load() != 100 {
		t.Fatalf("ran %d", ran.Load())
	}
}

func TestSpawnWith(t *testing.T) {
	for _, n := range []int{1, 2, 8} {
		s := scheduler.New(scheduler.Workers(n))
		v, err := joinWithin(t, Spawn(s, func(context.Context) (int, error) { return fibWith(fibArg{s, 22}), nil }).Future())
		s.Close()
		if err != nil || v != 17711 {
			t.Fatalf("workers=%d: %d %v", n, v, err)
		}
	}
	s := newSched(t, 1)
	boom := errors.New("boom")
	h := SpawnWith(s, func(_ context.Context, e error) (int, error) { return 0, e }, boom)
	if _, err := joinWithin(t, h.Future()); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	h = SpawnWith(s, func(context.Context, int) (int, error) { panic("p") }, 0)
	var pe *PanicError
	if _, err := joinWithin(t, h.Future()); !errors.As(err, &pe) || pe.Value != "p" {
		t.Fatal(err)
	}
	// Cancel before the task starts: it does not run.
	gate := make(chan struct{})
	s.Go(func() { <-gate })
	var ran atomic.Bool
	h = SpawnWith(s, func(context.Context, int) (int, error) { ran.Store(true); return 1, nil }, 0)
	h.Cancel()
	close(gate)
	if _, err := joinWithin(t, h.Future()); !errors.Is(err, context.Canceled) || ran.Load() {
		t.Fatal(err, ran.Load())
	}
	s2 := scheduler.New(scheduler.Workers(1))
	s2.Close()
	if _, err := SpawnWith(s2, func(context.Context, int) (int, error) { return 1, nil }, 0).Join(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
