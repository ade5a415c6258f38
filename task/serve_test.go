package task

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrt/weft/scheduler"
)

func TestChanServeOrderCloseAndStop(t *testing.T) {
	s := newSched(t, 2)
	c := NewChan[int](s)
	for i := 0; i < 10; i++ {
		_ = c.Send(i) // buffered before Serve: the server must pick them up
	}
	got := make(chan int, 1000)
	closed := make(chan struct{})
	if err := c.Serve(func(v int, err error) bool {
		if errors.Is(err, ErrChanClosed) {
			close(closed)
			return false
		}
		if scheduler.Current() != s {
			t.Error("server ran off the scheduler")
		}
		got <- v
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Serve(func(int, error) bool { return true }); !errors.Is(err, ErrServing) {
		t.Fatalf("second Serve: %v", err)
	}
	const N = 500 // more than serveBudget: the server requeues itself
	for i := 10; i < N; i++ {
		_ = c.Send(i)
	}
	for i := 0; i < N; i++ {
		select {
		case v := <-got:
			if v != i {
				t.Fatalf("got %d want %d: out of order", v, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("server stalled")
		}
	}
	c.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server not told about Close")
	}

	// Returning false stops serving: later values stay for Recv.
	c2 := NewChan[int](s)
	first := make(chan int, 10)
	_ = c2.Serve(func(v int, err error) bool { first <- v; return false })
	_ = c2.Send(1)
	if v := <-first; v != 1 {
		t.Fatal(v)
	}
	_ = c2.Send(2)
	_ = c2.Send(3)
	if mustJoin(t, c2.Recv()) != 2 || mustJoin(t, c2.Recv()) != 3 {
		t.Fatal("stopped server consumed values")
	}
	select {
	case v := <-first:
		t.Fatalf("stopped server called again with %d", v)
	default:
	}
	c2.Close()
}

func TestChanServePanicReported(t *testing.T) {
	got := make(chan any, 1)
	s := scheduler.New(scheduler.Workers(1), scheduler.PanicHandler(func(v any) { got <- v }))
	defer s.Close()
	c := NewChan[int](s)
	_ = c.Serve(func(int, error) bool { panic("srv") })
	_ = c.Send(1)
	select {
	case v := <-got:
		if pe, ok := v.(*PanicError); !ok || pe.Value != "srv" {
			t.Fatalf("%v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("panic not reported")
	}
	c.Close()
}
