package task

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"unsafe"
)

// The handle is the whole task record; keep it in the 48-byte size class for
// word-sized results, and keep the Task-before-Future layout taskOf relies on.
func TestHandleLayout(t *testing.T) {
	var hi JoinHandle[int]
	var hs JoinHandle[struct{}]
	var hb JoinHandle[[3]int64]
	if sz := unsafe.Sizeof(hi); sz > 48 {
		t.Fatalf("JoinHandle[int] is %d bytes", sz)
	}
	if unsafe.Offsetof(hi.t) != 0 || unsafe.Offsetof(hi.f) != unsafe.Offsetof(hs.f) || unsafe.Offsetof(hi.f) != unsafe.Offsetof(hb.f) {
		t.Fatal("layout changed")
	}
	if hi.f.taskOf() != nil {
		t.Fatal("zero future claims a task")
	}
	hi.f.aux = flagHasTask
	if hi.f.taskOf() != &hi.t {
		t.Fatal("taskOf does not find the handle's task")
	}
}

// A handle keeps its function in the future's error word until the task
// ends, so nobody but the task may complete that future.
func TestHandleFutureOwnedByTask(t *testing.T) {
	s := newSched(t, 1)
	release := make(chan struct{})
	h := Spawn(s, func(context.Context) (int, error) { <-release; return 7, nil })
	if h.Future().Complete(1, errors.New("outside")) {
		t.Fatal("Complete on a handle's future reported true")
	}
	close(release)
	if v, err := h.Join(); v != 7 || err != nil {
		t.Fatalf("Join = %d, %v; want 7, nil", v, err)
	}
	bh := SpawnBlocking(s, func(context.Context) (int, error) { return 8, nil })
	if bh.Future().Complete(1, nil) {
		// May lose the race to the task itself, but must never win it.
		t.Fatal("Complete on a blocking handle's future reported true")
	}
	if v, err := bh.Join(); v != 8 || err != nil {
		t.Fatalf("blocking Join = %d, %v; want 8, nil", v, err)
	}
}

// Errors survive the one-word form: the common ones without an allocation,
// any other boxed, nil as nil.
func TestFutureErrorWord(t *testing.T) {
	custom := fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF)
	for _, err := range []error{nil, context.Canceled, context.DeadlineExceeded, io.EOF, ErrChanClosed, custom} {
		f := NewFuture[int](nil)
		f.Complete(3, err)
		if v, got := f.Join(); v != 3 || got != err {
			t.Fatalf("Join = %d, %v; want 3, %v", v, got, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { boxErr(io.EOF); boxErr(nil); boxErr(context.Canceled) }); n != 0 {
		t.Fatalf("boxing common errors allocates %v times", n)
	}
}
