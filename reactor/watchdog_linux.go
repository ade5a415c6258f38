package reactor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft/internal/gstack"
)

// Stall is one loop turn that ran longer than a watchdog's threshold: some
// callback on the loop (a Handler method, a timer, a Submit closure, a Watch
// callback) blocked it, and with it every connection of the loop.
type Stall struct {
	Loop  int           // the loop's ID
	Held  time.Duration // how long the turn had run when sampled (at least the threshold)
	Stack []byte        // the loop goroutine's stack, taken while it was held
}

// Watchdog watches g's loops from a goroutine of its own and calls report
// (on that goroutine) once for every turn that runs longer than threshold
// (values under 4 ms are raised to 4 ms). stop ends it and waits for it.
//
// It costs the loops nothing: it samples the turn counter each loop
// publishes anyway, and whether the loop sleeps in epoll_wait, a few times
// per threshold. A counter that has not moved while the loop was awake
// means one turn is still running. Only then does it take a stack, from a
// dump of all goroutines (a stop-the-world).
func (g *Group) Watchdog(threshold time.Duration, report func(Stall)) (stop func()) {
	threshold = max(threshold, 4*time.Millisecond)
	w := &loopWatch{
		g: g, threshold: threshold, report: report,
		gids:  make([]atomic.Int64, len(g.loops)),
		state: make([]loopSample, len(g.loops)),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for i, l := range g.loops {
		gid := &w.gids[i]
		// The stack dump names goroutines by id: learn the loop's, on the loop.
		_ = l.Submit(func() { gid.Store(gstack.CurrentID()) })
	}
	go w.run()
	var once sync.Once
	return func() {
		once.Do(func() { close(w.quit) })
		<-w.done
	}
}

type loopWatch struct {
	g         *Group
	threshold time.Duration
	report    func(Stall)
	gids      []atomic.Int64
	state     []loopSample
	quit      chan struct{}
	done      chan struct{}
}

type loopSample struct {
	turns   int64
	since   time.Time
	flagged bool
}

func (w *loopWatch) run() {
	defer close(w.done)
	t := time.NewTicker(w.threshold / 4)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-t.C:
			for i, l := range w.g.loops {
				w.check(i, l, now)
			}
		}
	}
}

func (w *loopWatch) check(i int, l *Loop, now time.Time) {
	s := &w.state[i]
	turns := l.pub.turns.Load()
	if turns != s.turns || l.sleeping.Load() == 1 || l.stopReq.Load() || l.closed.Load() {
		s.turns, s.since, s.flagged = turns, now, false
		return
	}
	if s.flagged || now.Sub(s.since) < w.threshold {
		return
	}
	s.flagged = true
	stack := gstack.Of(w.gids[i].Load())
	// The turn may have ended while the stack was taken; then the stack
	// shows the next one, and the stall is not reported on a wrong stack.
	if l.pub.turns.Load() != turns {
		return
	}
	// The sampler first saw the turn running up to one period after it began.
	w.report(Stall{Loop: l.id, Held: now.Sub(s.since) + w.threshold/8, Stack: stack})
}
