package reactor

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Loop is one event loop: a goroutine locked to an OS thread that owns an epoll instance,
// its connections, its timers and its buffer pools. Loop-local state has no locks; other
// goroutines reach the loop only through Submit.
type Loop struct {
	id  int
	cfg *config
	p   *poller

	// Written by other goroutines: kept off the cache lines of loop-local state.
	_          [64]byte
	in         inbox
	sleeping   atomic.Int32 // 1 while the loop is (about to be) blocked in epoll_wait
	submitting atomic.Int32 // producers between the closed check and their push
	closed     atomic.Bool  // Submit refuses once set
	stopReq    atomic.Bool
	tid        atomic.Int32
	done       chan struct{}
	_          [64]byte

	conns      []*Conn // indexed by fd
	watches    map[int]func(uint32)
	gen        uint32
	dirty      []*Conn // connections with output to flush (or a close to finish) this turn
	pending    []*Conn // connections that hit the per-turn read cap and still have input
	pending2   []*Conn
	timers     timerHeap
	lastEvents int
	epoch      time.Time
	lastYield  int64 // l.now() of the last runtime.Gosched before a blocking wait

	stoppedTimers atomic.Int64

	bufFree   [][]byte // inbound buffers, all of cfg.readBuf bytes
	chunkFree [][]byte // outbound chunks, all of cfg.chunkSize bytes
	iov       []unix.Iovec

	// Counters the loop bumps without atomics and publishes once per turn.
	local LoopStats
	pub   struct {
		closed, events, turns, wakeups, reads, writes, bytesIn, bytesOut, tasks, timers, paused atomic.Int64
	}
	nconns   atomic.Int64
	accepted atomic.Int64
}

func newLoop(id int, cfg *config) (*Loop, error) {
	p, err := newPoller(cfg.maxEvents)
	if err != nil {
		return nil, fmt.Errorf("reactor: loop %d: %w", id, err)
	}
	l := &Loop{
		id:      id,
		cfg:     cfg,
		p:       p,
		done:    make(chan struct{}),
		watches: make(map[int]func(uint32)),
		epoch:   time.Now(),
		iov:     make([]unix.Iovec, 0, 64),
	}
	started := make(chan struct{})
	go l.run(started)
	<-started
	return l, nil
}

// ID is the loop's index within its group.
func (l *Loop) ID() int { return l.id }

// InLoop reports whether the caller runs on this loop's goroutine. The loop goroutine is
// locked to its thread and a locked thread runs nothing else, so comparing thread ids is
// exact; it costs one gettid.
func (l *Loop) InLoop() bool {
	tid := l.tid.Load()
	return tid != 0 && int32(unix.Gettid()) == tid
}

// Submit queues fn to run on the loop. Safe from any goroutine, including the loop. A nil
// error guarantees fn runs: closures that race with shutdown run during the final drain.
func (l *Loop) Submit(fn func()) error {
	if fn == nil {
		return fmt.Errorf("%w: Submit(nil)", ErrBadOption)
	}
	l.submitting.Add(1)
	if l.closed.Load() {
		l.submitting.Add(-1)
		return ErrClosed
	}
	l.in.push(fn)
	// Only a sleeping loop needs the eventfd write; an awake one drains the inbox before it
	// sleeps again (it re-checks the inbox after announcing sleep).
	if l.sleeping.CompareAndSwap(1, 0) {
		l.p.wake()
	}
	// Still counted while touching the eventfd, so shutdown cannot close it under us.
	l.submitting.Add(-1)
	return nil
}

// Stats returns a snapshot of the loop's counters. Safe from any goroutine.
func (l *Loop) Stats() LoopStats {
	return LoopStats{
		ID:       l.id,
		Conns:    l.nconns.Load(),
		Accepted: l.accepted.Load(),
		Closed:   l.pub.closed.Load(),
		Events:   l.pub.events.Load(),
		Turns:    l.pub.turns.Load(),
		Wakeups:  l.pub.wakeups.Load(),
		Reads:    l.pub.reads.Load(),
		Writes:   l.pub.writes.Load(),
		BytesIn:  l.pub.bytesIn.Load(),
		BytesOut: l.pub.bytesOut.Load(),
		Tasks:    l.pub.tasks.Load(),
		Timers:   l.pub.timers.Load(),
		Paused:   l.pub.paused.Load(),
	}
}

func (l *Loop) load() int64 { return l.nconns.Load() }

func (l *Loop) publish() {
	s := &l.local
	l.pub.closed.Store(s.Closed)
	l.pub.events.Store(s.Events)
	l.pub.turns.Store(s.Turns)
	l.pub.wakeups.Store(s.Wakeups)
	l.pub.reads.Store(s.Reads)
	l.pub.writes.Store(s.Writes)
	l.pub.bytesIn.Store(s.BytesIn)
	l.pub.bytesOut.Store(s.BytesOut)
	l.pub.tasks.Store(s.Tasks)
	l.pub.timers.Store(s.Timers)
	l.pub.paused.Store(s.Paused)
}

// stop asks the loop to close its connections and exit, and waits for it.
func (l *Loop) stop() {
	if l.stopReq.CompareAndSwap(false, true) {
		// The closure only wakes the loop; the flag does the work.
		_ = l.Submit(func() {})
	}
	<-l.done
}

func (l *Loop) run(started chan<- struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l.tid.Store(int32(unix.Gettid()))
	close(started)
	for !l.stopReq.Load() {
		l.turn()
	}
	l.shutdown()
	// The thread goes back to the pool and may run other goroutines: InLoop must not
	// recognise it any more.
	l.tid.Store(0)
	close(l.done)
}

func (l *Loop) turn() {
	// After a busy turn, poll without blocking first: events are usually waiting, and
	// the raw call keeps the thread's P instead of going through a blocking syscall. After
	// a quiet turn that poll would almost always come back empty, so skip it.
	n := 0
	polled := l.lastEvents > 1 || len(l.dirty) > 0 || len(l.pending) > 0
	if polled {
		n = l.p.pollNow()
	}
	if n == 0 {
		timeout := 0
		if len(l.dirty) == 0 && len(l.pending) == 0 {
			timeout = l.nextTimeout()
		}
		if timeout != 0 {
			l.sleeping.Store(1)
			if !l.in.empty() || l.stopReq.Load() {
				l.sleeping.Store(0)
				timeout = 0
			}
		}
		if timeout != 0 {
			l.yieldBeforeWait()
			var err error
			n, err = l.p.wait(timeout)
			l.sleeping.Store(0)
			if err != nil {
				// EBADF/EINVAL cannot happen while the loop owns its epoll fd; avoid a
				// hot spin.
				time.Sleep(time.Millisecond)
			}
		} else if !polled {
			// Work is waiting (inbox, due timers): still look at the sockets, so that a
			// steady stream of Submits cannot starve I/O.
			n = l.p.pollNow()
		}
	}
	l.lastEvents = n
	l.local.Turns++
	l.local.Events += int64(n)
	for i := 0; i < n; i++ {
		ev := &l.p.events[i]
		fd := int(ev.Fd)
		if fd == l.p.evfd {
			l.p.drainWake()
			l.local.Wakeups++
			continue
		}
		if fd < len(l.conns) {
			if c := l.conns[fd]; c != nil {
				if c.gen == uint32(ev.Pad) {
					l.connEvent(c, ev.Events)
				}
				continue
			}
		}
		if cb := l.watches[fd]; cb != nil {
			cb(ev.Events)
		}
	}
	if len(l.pending) > 0 {
		l.runPending()
	}
	l.local.Tasks += int64(l.in.drain())
	l.local.Timers += int64(l.runTimers())
	l.flushDirty()
	l.publish()
}

// yieldBeforeWait reschedules the loop goroutine once in a while, just before it would
// block in epoll_wait anyway. A goroutine that runs for more than 10 ms without passing
// through the scheduler looks stuck to the runtime's sysmon: sysmon then takes the P away
// from every blocking epoll_wait it sees, at its fastest tick (20 us), and each take costs
// a thread wake-up, a P hand-off and a sysmon wake-up when the wait returns. With
// GOMAXPROCS=1 that was a fifth of the loop's CPU under light load. A yield from a locked
// goroutine costs two thread hand-offs, so it happens at most every yieldEvery.
func (l *Loop) yieldBeforeWait() {
	const yieldEvery = int64(2 * time.Millisecond)
	if now := l.now(); now-l.lastYield >= yieldEvery {
		l.lastYield = now
		runtime.Gosched()
	}
}

func (l *Loop) runPending() {
	// Connections re-queued during this pass go to the other list, for the next turn.
	list := l.pending
	l.pending = l.pending2[:0]
	for i, c := range list {
		list[i] = nil
		c.pendingRead = false
		if c.state != stateOpen || !c.readOn {
			continue
		}
		if c.reoffer {
			c.reoffer = false
			if c.inLen > 0 {
				l.deliver(c)
				if c.state != stateOpen || !c.readOn {
					continue
				}
			}
		}
		l.readConn(c)
	}
	l.pending2 = list[:0]
}

func (l *Loop) shutdown() {
	for _, c := range l.conns {
		if c != nil {
			l.finish(c, ErrClosed)
		}
	}
	l.watches = map[int]func(uint32){}
	// From here on Submit fails; wait out producers that passed the check, then run
	// whatever they queued so that a nil Submit error keeps its promise.
	l.closed.Store(true)
	for l.submitting.Load() != 0 {
		runtime.Gosched()
	}
	for l.in.drain() > 0 {
	}
	for _, c := range l.conns {
		if c != nil {
			l.finish(c, ErrClosed)
		}
	}
	for i := range l.timers {
		l.timers[i].state.CompareAndSwap(timerPending, timerFired)
	}
	l.timers = nil
	l.publish()
	l.p.close()
}

// Watch registers a raw fd (an eventfd, a connecting socket) with the loop; cb runs on the
// loop with the ready events. events are epoll bits (EventIn, EventOut, EventEdge...). A
// second Watch of the same fd replaces its events and callback. Loop only.
func (l *Loop) Watch(fd int, events uint32, cb func(events uint32)) error {
	if !l.InLoop() {
		return ErrNotInLoop
	}
	if l.stopReq.Load() {
		return ErrClosed
	}
	if fd < 0 || cb == nil {
		return fmt.Errorf("%w: Watch(%d)", ErrBadOption, fd)
	}
	if fd < len(l.conns) && l.conns[fd] != nil {
		return fmt.Errorf("reactor: Watch(%d): fd is an attached connection", fd)
	}
	if _, ok := l.watches[fd]; ok {
		if err := l.p.mod(fd, events, 0); err != nil {
			return err
		}
	} else if err := l.p.add(fd, events, 0); err != nil {
		return err
	}
	l.watches[fd] = cb
	return nil
}

// Unwatch removes a watched fd; the caller still owns (and closes) the fd. Loop only.
func (l *Loop) Unwatch(fd int) error {
	if !l.InLoop() {
		return ErrNotInLoop
	}
	if _, ok := l.watches[fd]; !ok {
		return fmt.Errorf("reactor: Unwatch(%d): %w", fd, unix.ENOENT)
	}
	delete(l.watches, fd)
	if err := l.p.del(fd); err != nil && !errors.Is(err, unix.EBADF) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// getBuf and putBuf keep a bounded LIFO of inbound buffers per loop: no locks, and the
// most recently used (cache-warm) buffer is handed out first.
func (l *Loop) getBuf() []byte {
	if n := len(l.bufFree); n > 0 {
		b := l.bufFree[n-1]
		l.bufFree[n-1] = nil
		l.bufFree = l.bufFree[:n-1]
		return b
	}
	return make([]byte, l.cfg.readBuf)
}

func (l *Loop) putBuf(b []byte) {
	if cap(b) != l.cfg.readBuf || len(l.bufFree) >= l.cfg.maxPooled {
		return
	}
	l.bufFree = append(l.bufFree, b[:cap(b)])
}

func (l *Loop) getChunk() []byte {
	if n := len(l.chunkFree); n > 0 {
		b := l.chunkFree[n-1]
		l.chunkFree[n-1] = nil
		l.chunkFree = l.chunkFree[:n-1]
		return b[:0]
	}
	return make([]byte, 0, l.cfg.chunkSize)
}

func (l *Loop) putChunk(b []byte) {
	if cap(b) != l.cfg.chunkSize || len(l.chunkFree) >= l.cfg.maxPooled {
		return
	}
	l.chunkFree = append(l.chunkFree, b[:0])
}
