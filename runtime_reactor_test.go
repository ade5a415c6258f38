package weft_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

func TestReactorOptions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(3), weft.Balancer(reactor.LeastConnections()), weft.ReusePort(true))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if n := len(rt.Reactor().Loops()); n != 3 {
		t.Fatalf("loops: %d, want 3", n)
	}
	if _, err := weft.New(weft.Balancer(nil)); err == nil {
		t.Fatal("New accepted a nil balancer")
	}
}

// TestAfterFuncRunsOnALoop checks that the runtime's timers are the loops'
// timers, not the time package's.
func TestAfterFuncRunsOnALoop(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	onLoop := make(chan bool, 1)
	rt.AfterFunc(time.Millisecond, func() {
		in := false
		for _, l := range rt.Reactor().Loops() {
			in = in || l.InLoop()
		}
		onLoop <- in
	})
	select {
	case in := <-onLoop:
		if !in {
			t.Fatal("AfterFunc did not run on a loop")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}
}

// TestTimerSurvivesClose: a timer pending when the runtime closes still fires
// at its time (on the time package), and one stopped before does not.
func TestTimerSurvivesClose(t *testing.T) {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	fired := make(chan time.Time, 1)
	start := time.Now()
	rt.AfterFunc(50*time.Millisecond, func() { fired <- time.Now() })
	stop := rt.AfterFunc(50*time.Millisecond, func() { t.Error("stopped timer fired") })
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if !stop() {
		t.Fatal("stop after Close reported false for a pending timer")
	}
	select {
	case at := <-fired:
		if at.Sub(start) < 50*time.Millisecond {
			t.Fatalf("fired early, after %v", at.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer pending at Close never fired")
	}
	late := make(chan struct{})
	rt.AfterFunc(time.Millisecond, func() { close(late) })
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc after Close never fired")
	}
}

func TestOnClose(t *testing.T) {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	rt.OnClose(func() { ran++ })
	remove := rt.OnClose(func() { t.Error("removed hook ran") })
	remove()
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if ran != 1 {
		t.Fatalf("hook ran %d times, want 1", ran)
	}
	rt.OnClose(func() { ran++ }) // after Close: at once
	if ran != 2 {
		t.Fatal("hook registered after Close did not run")
	}
}

func timersFired(rt *weft.Runtime) int64 {
	var n int64
	for _, l := range rt.Reactor().Loops() {
		n += l.Stats().Timers
	}
	return n
}

// TestTaskTimersUseLoops: task.Sleep, Timeout and tickers on a Runtime are
// driven by the loops' timers (the loops count every timer they fire).
func TestTaskTimersUseLoops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	before := timersFired(rt)

	start := time.Now()
	if _, err := task.Sleep(rt, 20*time.Millisecond).Join(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Fatalf("Sleep(20ms) returned after %v", el)
	}

	never := task.NewFuture[int](rt)
	if _, err := task.Timeout(rt, never, 10*time.Millisecond).Join(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Timeout: %v", err)
	}

	tk := task.NewTicker(rt, 5*time.Millisecond)
	for i := 0; i < 3; i++ {
		if _, err := tk.Next().Join(); err != nil {
			t.Fatal(err)
		}
	}
	tk.Stop()

	select {
	case <-task.After(rt, time.Millisecond):
	case <-time.After(5 * time.Second):
		t.Fatal("After never fired")
	}

	// Loop stats are published once per turn; one more timer makes sure the
	// turn that fired the last one has been counted.
	if _, err := task.Sleep(rt, time.Millisecond).Join(); err != nil {
		t.Fatal(err)
	}
	if fired := timersFired(rt) - before; fired < 6 {
		t.Fatalf("loops fired %d timers, want at least 6", fired)
	}
}
