package task

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// context.AfterFunc and context.WithCancel on a task's context must not park
// a goroutine per call (the context package does that for a foreign context
// without an AfterFunc method), and must fire on Cancel and when the task
// returns.
func TestTaskContextAfterFuncGoroutineFree(t *testing.T) {
	s := newSched(t, 2)
	const N = 200
	var fired sync.WaitGroup
	fired.Add(2 * N)
	ready := make(chan struct{})
	release := make(chan struct{})
	var grew int
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // a failing check must not leave the task holding Close
	h := Spawn(s, func(ctx context.Context) (int, error) {
		before := runtime.NumGoroutine()
		for i := 0; i < N; i++ {
			context.AfterFunc(ctx, fired.Done)
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			context.AfterFunc(child, fired.Done) // child is a cancelCtx: no goroutine either
		}
		grew = runtime.NumGoroutine() - before
		close(ready)
		<-release
		return 0, nil
	})
	<-ready
	if grew > N/10 {
		t.Fatalf("%d goroutines for %d registrations", grew, 2*N)
	}
	h.Cancel()
	waitGroupWithin(t, &fired)
	unblock()
	mustJoin(t, h.Future())
}

func TestTaskContextAfterFuncStopAndEnd(t *testing.T) {
	s := newSched(t, 1)
	ran := make(chan string, 4)
	var stopped bool
	var saved context.Context
	var child context.Context
	var cancelChild context.CancelFunc
	h := Spawn(s, func(ctx context.Context) (int, error) {
		saved = ctx
		stop := context.AfterFunc(ctx, func() { ran <- "stopped" })
		stopped = stop()
		context.AfterFunc(ctx, func() { ran <- "end" })
		child, cancelChild = context.WithTimeout(ctx, time.Hour)
		return 0, nil
	})
	mustJoin(t, h.Future())
	defer cancelChild()
	if !stopped {
		t.Fatal("stop did not report stopping")
	}
	select {
	case v := <-ran:
		if v != "end" {
			t.Fatal(v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not fire when the task returned")
	}
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("derived context not cancelled")
	}
	if !errors.Is(context.Cause(child), context.Canceled) || !errors.Is(context.Cause(saved), context.Canceled) {
		t.Fatal(context.Cause(child), context.Cause(saved))
	}
	// Registered after the end: runs at once, on its own goroutine.
	context.AfterFunc(saved, func() { ran <- "late" })
	select {
	case v := <-ran:
		if v != "late" {
			t.Fatal(v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("late AfterFunc did not run")
	}
	select {
	case v := <-ran:
		t.Fatal("stopped func ran:", v)
	default:
	}
}

func TestTaskContextAfterFuncOnClose(t *testing.T) {
	s := newSched(t, 1)
	fired := make(chan struct{})
	ready := make(chan struct{})
	h := Spawn(s, func(ctx context.Context) (int, error) {
		context.AfterFunc(ctx, func() { close(fired) })
		close(ready)
		<-ctx.Done()
		return 0, nil
	})
	<-ready
	go s.Close()
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not fire on Close")
	}
	mustJoin(t, h.Future())
}

func waitGroupWithin(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("timed out")
	}
}
