package weft_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/task"
)

func TestMain(m *testing.M) {
	// ants starts its default pool's goroutines at package init.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

func TestNewClose(t *testing.T) {
	rt, err := weft.New(weft.Workers(3), weft.BlockingPool(4))
	if err != nil {
		t.Fatal(err)
	}
	if n := rt.Scheduler().Workers(); n != 3 {
		t.Fatalf("workers %d", n)
	}
	h := task.Spawn(rt, func(context.Context) (string, error) { return "hi", nil })
	if v, err := h.Join(); v != "hi" || err != nil {
		t.Fatalf("%q %v", v, err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	late := task.Spawn(rt, func(context.Context) (int, error) { return 1, nil })
	if _, err := late.Join(); !errors.Is(err, task.ErrClosed) || !errors.Is(err, weft.ErrClosed) {
		t.Fatalf("spawn after Close: %v", err)
	}
}

func TestRunReturnsMainError(t *testing.T) {
	boom := errors.New("boom")
	err := weft.Run(func(rt *weft.Runtime) error {
		h := task.Spawn(rt, func(context.Context) (int, error) { return 7, nil })
		if v, err := h.Join(); v != 7 || err != nil {
			t.Errorf("%d %v", v, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v", err)
	}
	if err := weft.Run(func(*weft.Runtime) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestAfterFunc(t *testing.T) {
	rt, _ := weft.New(weft.Workers(1))
	defer rt.Close()
	fired := make(chan struct{})
	rt.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}
	stop := rt.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !stop() {
		t.Fatal("stop of a pending timer reported false")
	}
}

func ExampleRun() {
	_ = weft.Run(func(rt *weft.Runtime) error {
		h := task.Spawn(rt, func(context.Context) (int, error) { return 6 * 7, nil })
		v, err := h.Join()
		println(v)
		return err
	})
}

func TestOptionsBadInputAndPanicHandler(t *testing.T) {
	got := make(chan any, 1)
	rt, err := weft.New(weft.Workers(-3), weft.BlockingPool(0), weft.PanicHandler(func(v any) { got <- v }))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if rt.Scheduler().Workers() < 1 {
		t.Fatal("no workers for a bad Workers value")
	}
	gate := make(chan struct{})
	h := task.Spawn(rt, func(context.Context) (int, error) { <-gate; panic("x") })
	h.Detach()
	close(gate)
	select {
	case v := <-got:
		var pe *task.PanicError
		if !errors.As(v.(error), &pe) || pe.Value != "x" {
			t.Fatalf("handler got %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("panic handler not called")
	}
	b := task.SpawnBlocking(rt, func(context.Context) (int, error) { return 2, nil })
	if v, err := b.Join(); v != 2 || err != nil {
		t.Fatal(v, err)
	}
}

// Sleep through the Runtime uses its AfterFunc (task.Timers).
func TestSleepOnRuntime(t *testing.T) {
	rt, _ := weft.New(weft.Workers(1))
	defer rt.Close()
	var _ task.Timers = rt
	if _, err := task.Sleep(rt, time.Millisecond).Join(); err != nil {
		t.Fatal(err)
	}
}
