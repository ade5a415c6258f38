package task

import (
	"context"
	"sync"
	"time"
)

// afterFunc uses the executor's timers when it has them (the reactor loops'
// wheels, for a *weft.Runtime), else the time package.
func afterFunc(ex Executor, d time.Duration, fn func()) (stop func() bool) {
	if tm, ok := ex.(Timers); ok {
		return tm.AfterFunc(d, fn)
	}
	return time.AfterFunc(d, fn).Stop
}

// Sleep resolves after d.
func Sleep(ex Executor, d time.Duration) *Future[struct{}] {
	f := NewFuture[struct{}](ex)
	afterFunc(ex, d, func() { f.Complete(struct{}{}, nil) })
	return f
}

// After delivers the time on the returned channel after d, like time.After.
func After(ex Executor, d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	afterFunc(ex, d, func() { ch <- time.Now() })
	return ch
}

// Timeout resolves with f's result if f completes within d, else with
// context.DeadlineExceeded (f itself is not affected).
func Timeout[T any](ex Executor, f *Future[T], d time.Duration) *Future[T] {
	out := NewFuture[T](ex)
	stop := afterFunc(ex, d, func() {
		var zero T
		out.Complete(zero, context.DeadlineExceeded)
	})
	f.onDone(func() {
		stop()
		out.complete(f.val, f.res)
	})
	return out
}

// Ticker delivers ticks every period. Ticks are not queued: like
// time.Ticker, a tick that finds the previous one unreceived is dropped.
type Ticker struct {
	ex     Executor
	d      time.Duration
	ticks  *Ring[time.Time]
	mu     sync.Mutex
	stop   func() bool
	closed bool
}

// NewTicker starts a ticker; d <= 0 means 1ms.
func NewTicker(ex Executor, d time.Duration) *Ticker {
	if d <= 0 {
		d = time.Millisecond
	}
	t := &Ticker{ex: ex, d: d, ticks: NewRing[time.Time](ex, 1)}
	t.mu.Lock()
	t.arm()
	t.mu.Unlock()
	return t
}

func (t *Ticker) arm() {
	t.stop = afterFunc(t.ex, t.d, t.fire)
}

func (t *Ticker) fire() {
	_ = t.ticks.TrySend(time.Now())
	t.mu.Lock()
	if !t.closed {
		t.arm()
	}
	t.mu.Unlock()
}

// Next resolves with the next tick, or ErrChanClosed after Stop.
func (t *Ticker) Next() *Future[time.Time] { return t.ticks.Recv() }

// Stop ends the ticker; pending and later Next calls fail with ErrChanClosed
// once the last delivered tick has been taken.
func (t *Ticker) Stop() {
	t.mu.Lock()
	t.closed = true
	if t.stop != nil {
		t.stop()
	}
	t.mu.Unlock()
	t.ticks.Close()
}
