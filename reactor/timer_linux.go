package reactor

import (
	"sync/atomic"
	"time"
)

const (
	timerPending int32 = iota
	timerFired
	timerStopped
)

// Timer is a one-shot callback on a loop, created by Loop.AfterFunc.
type Timer struct {
	l     *Loop
	when  int64 // nanoseconds on the loop's monotonic clock
	fn    func()
	state atomic.Int32
}

// Stop prevents the timer from firing. It returns false if the timer already fired or was
// stopped. Safe from any goroutine: it only flips the state; the loop drops stopped
// timers lazily and compacts its heap when they pile up, so Stop costs no syscall and no
// lock even when deadlines are reset on every request.
func (t *Timer) Stop() bool {
	if t == nil || !t.state.CompareAndSwap(timerPending, timerStopped) {
		return false
	}
	if t.l != nil {
		t.l.stoppedTimers.Add(1)
	}
	return true
}

// timerHeap is a binary min-heap on when; loop-only.
type timerHeap []*Timer

func (h *timerHeap) push(t *Timer) {
	*h = append(*h, t)
	h.up(len(*h) - 1)
}

func (h *timerHeap) pop() *Timer {
	old := *h
	n := len(old) - 1
	t := old[0]
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
	return t
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].when <= h[i].when {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].when < h[l].when {
			m = r
		}
		if h[i].when <= h[m].when {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// compact removes stopped timers and restores the heap property in O(n).
func (h *timerHeap) compact() int {
	old := *h
	kept := old[:0]
	for _, t := range old {
		if t.state.Load() == timerPending {
			kept = append(kept, t)
		}
	}
	removed := len(old) - len(kept)
	for i := len(kept); i < len(old); i++ {
		old[i] = nil
	}
	*h = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		kept.down(i)
	}
	return removed
}

// AfterFunc arranges for fn to run on the loop after d. Safe from any goroutine; from
// another goroutine the timer is inserted through the inbox. After the loop is closed
// the returned timer never fires and Stop reports false.
func (l *Loop) AfterFunc(d time.Duration, fn func()) *Timer {
	t := &Timer{l: l, fn: fn}
	if l.closed.Load() {
		t.state.Store(timerFired)
		return t
	}
	if d < 0 {
		d = 0
	}
	t.when = l.now() + int64(d)
	if l.InLoop() {
		l.addTimer(t)
		return t
	}
	if err := l.Submit(func() { l.addTimer(t) }); err != nil {
		t.state.Store(timerFired)
	}
	return t
}

func (l *Loop) addTimer(t *Timer) {
	if t.state.Load() != timerPending {
		// Stopped before it reached the heap: undo Stop's count of heap garbage.
		if t.state.Load() == timerStopped {
			l.stoppedTimers.Add(-1)
		}
		return
	}
	l.timers.push(t)
}

// runTimers fires every due timer and returns how many fired.
func (l *Loop) runTimers() int {
	if s := l.stoppedTimers.Load(); s > 64 && int(s) > len(l.timers)/2 {
		l.stoppedTimers.Add(-int64(l.timers.compact()))
	}
	if len(l.timers) == 0 {
		return 0
	}
	now := l.now()
	fired := 0
	for len(l.timers) > 0 && l.timers[0].when <= now {
		t := l.timers.pop()
		if !t.state.CompareAndSwap(timerPending, timerFired) {
			l.stoppedTimers.Add(-1)
			continue
		}
		fn := t.fn
		t.fn = nil
		fired++
		fn()
	}
	return fired
}

// nextTimeout converts the earliest deadline into an epoll_wait timeout in milliseconds,
// rounded up so that the loop never wakes just before a timer is due and spins.
func (l *Loop) nextTimeout() int {
	if len(l.timers) == 0 {
		return -1
	}
	d := l.timers[0].when - l.now()
	if d <= 0 {
		return 0
	}
	ms := (d + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return int(ms)
}

func (l *Loop) now() int64 { return int64(time.Since(l.epoch)) }
