package scheduler

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/weftrt/weft/internal/spinwait"
)

// ErrClosed is returned for work submitted after Close has begun.
var ErrClosed = errors.New("scheduler: closed")

// Scheduler is a work-stealing pool of P workers. See the package doc for the
// queueing, parking and shutdown rules.
type Scheduler struct {
	cfg     config
	workers []*worker

	nspinning atomic.Int32 // workers looking for work to steal
	nidle     atomic.Int32 // workers parked (or about to park)
	idleMu    sync.Mutex
	idle      []*worker

	gq gqueue

	closing   atomic.Bool  // Close has begun: new spawns are rejected
	stopped   atomic.Bool  // quiescent and shut down; set under gq.mu
	ndetached atomic.Int32 // goroutines suspended (in Suspension.Wait) after giving their worker away
	quiesced  chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once

	spareMu sync.Mutex
	spares  []*mthread
	wg      sync.WaitGroup

	ctx    context.Context
	cancel context.CancelCauseFunc

	blocking blockingPool

	rejected atomic.Uint64
	handoffs atomic.Uint64
	parks    atomic.Uint64
	panics   atomic.Uint64
}

type worker struct {
	s     *Scheduler
	id    int
	owner atomic.Uintptr // getg() of the goroutine currently running this worker
	m     *mthread       // owner's thread record; touched only by the owner

	// Keep the fields the owner writes all the time off the line of owner,
	// which every goroutine outside the pool reads on each Spawn (current)
	// and should find in its cache: sharing the line cost an outside
	// spawner a cache miss per spawn, 9 of its ~60 ns.
	_ [64]byte

	susp     *Suspension // guarded by idleMu: owner suspended, worker idle in the list
	lifo     *Task       // owner only: the next task to run, for message-passing locality
	lifoRuns int
	spinning bool
	tick     uint32
	rnd      uint64
	parkCh   chan struct{}

	frames  [frameCache]any // owner only: recycled fork-join records (Local.Get/Put)
	nframes int

	// Owner-only counters, published to the atomics every 256 counts and on
	// park: a LOCKed add per spawn is measurable in fork-join.
	nspawn, nran uint64
	spawned      atomic.Uint64
	stolen       atomic.Uint64
	ran          atomic.Uint64

	dq deque
}

// mthread is a goroutine able to run a worker, like the Go runtime's M: a
// worker (P) is handed from one to another when its owner blocks.
type mthread struct {
	g      uintptr
	w      *worker // the worker this goroutine runs now; this goroutine only
	assign chan *worker
}

const maxLIFORuns = 3

// New starts a scheduler.
func New(opts ...Option) *Scheduler {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Scheduler{cfg: cfg, quiesced: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.blocking.init(s, cfg.blocking)
	s.workers = make([]*worker, cfg.workers)
	for i := range s.workers {
		s.workers[i] = &worker{s: s, id: i, rnd: uint64(i)*0x9E3779B97F4A7C15 + 1, parkCh: make(chan struct{}, 1)}
	}
	register(s.workers)
	for _, w := range s.workers {
		s.wg.Add(1)
		go s.mloop(&mthread{assign: make(chan *worker, 1)}, w)
	}
	return s
}

// Scheduler makes *Scheduler satisfy task.Executor.
func (s *Scheduler) Scheduler() *Scheduler { return s }

// Context is cancelled (with cause ErrClosed) when Close begins.
func (s *Scheduler) Context() context.Context { return s.ctx }

// Workers is the number of workers.
func (s *Scheduler) Workers() int { return len(s.workers) }

// Closed reports whether Close has begun.
func (s *Scheduler) Closed() bool { return s.closing.Load() }

type goTask struct {
	t  Task
	s  *Scheduler
	fn func()
}

func (g *goTask) RunTask() {
	defer func() {
		if r := recover(); r != nil {
			g.s.reportPanic(r)
		}
	}()
	g.fn()
}

// ReportPanic counts a panic recovered by a higher layer (a detached task, a
// continuation) and passes it to the PanicHandler option.
func (s *Scheduler) ReportPanic(r any) { s.reportPanic(r) }

func (s *Scheduler) reportPanic(r any) {
	s.panics.Add(1)
	if h := s.cfg.onPanic; h != nil {
		h(r)
	}
}

// Go runs fn as a task. A panic in fn is recovered (the worker survives) and
// passed to the PanicHandler option. After Close has begun fn is dropped and
// counted in Stats.Rejected; use TryGo to learn about it.
func (s *Scheduler) Go(fn func()) { _ = s.TryGo(fn) }

// TryGo is Go reporting ErrClosed after Close has begun.
func (s *Scheduler) TryGo(fn func()) error {
	g := &goTask{s: s, fn: fn}
	g.t.Init(g)
	return s.Spawn(&g.t)
}

// Spawn queues t as new work: on the calling worker's deque when the caller
// runs on one of s's workers, else on the global injection queue. Once Close
// has begun, work from outside the pool is refused with ErrClosed (t is not
// queued), while tasks already running may still spawn: their children are
// part of the work being drained, and refusing them would strand whatever
// waits on them.
func (s *Scheduler) Spawn(t *Task) error {
	if w := current(); w != nil && w.s == s {
		if w.nspawn++; w.nspawn&255 == 0 {
			w.spawned.Store(w.nspawn)
		}
		s.pushLocal(w, t)
		return nil
	}
	return s.inject(t, false)
}

// Wake queues t, a continuation made runnable (a future resolved, a channel
// received), in the calling worker's LIFO slot so that it runs next, in cache,
// without a trip through the deque; from outside the pool it goes to the
// global queue. Wake never rejects: during a drain the continuation runs on
// the pool, after shutdown on a goroutine of its own.
func (s *Scheduler) Wake(t *Task) {
	if w := current(); w != nil && w.s == s {
		if old := w.lifo; old != nil && !old.Claimed() {
			s.pushLocal(w, old)
		}
		w.lifo = t
		return
	}
	_ = s.inject(t, true)
}

// RunInline runs t on the calling goroutine, now, if that goroutine is one of
// s's workers and t has not been claimed yet. A joiner uses it to run the task
// it waits for instead of blocking (work-first, as rayon's join): only the
// awaited task itself ever runs nested, so a nested run cannot wait on the
// frames below it and recursive fork-join never deadlocks.
func (s *Scheduler) RunInline(t *Task) bool {
	w := current()
	if w == nil || w.s != s {
		return false
	}
	// Cheap case first: t is the newest entry of our own deque. Claimed
	// entries found on the way are dropped so the deque does not fill with
	// them.
	for {
		x := w.dq.pop()
		if x == nil || x == t {
			break
		}
		if x.Claimed() {
			continue
		}
		w.dq.push(x) // cannot fail: we just made room
		break
	}
	if !t.Claim() {
		return false
	}
	w.countRan()
	t.exec()
	return true
}

// WorkWaiting reports whether the caller is one of s's workers and work is
// queued that it could run instead of waiting: in its own deque or LIFO
// slot, or in the global queue. A joiner whose task runs elsewhere spins
// only when there is nothing else to do; otherwise it suspends, so that its
// worker runs that work meanwhile. Spinning there would lock the joiner in
// step with the worker it waits on (which finishes one task and takes the
// next before the spinner notices), one worker's worth of CPU spent spinning.
func (s *Scheduler) WorkWaiting() bool {
	w := current()
	return w != nil && w.s == s && (w.lifo != nil || w.dq.size() > 0 || s.gq.n.Load() > 0)
}

// Suspension is one wait of a goroutine that must block (a Join on a future
// that is not there). Get one from Suspend, arrange for Resume to be called
// exactly when the wait is over, then Wait.
//
// When the caller is a worker, Wait hands the worker to a spare goroutine
// first, as the Go runtime hands off a P around a syscall, so the pool keeps
// its full width; Resume then queues a small task that, when a worker runs it,
// hands that worker back to the suspended goroutine, which continues as a
// worker (local spawns, inline joins) rather than as a stray goroutine. The
// resume task goes to the resuming worker's LIFO slot, so a wake-up from a
// task is picked up next.
//
// When the worker has nothing queued locally, Wait does not hand it over at
// all: the worker goes into the idle list marked as held by a suspended
// owner. If Resume comes first it takes the worker out again and gives it
// straight back (one goroutine wake-up, as for a channel); if work arrives
// first, the waker starts a spare goroutine on it, as for any parked worker.
type Suspension struct {
	t     Task
	s     *Scheduler
	m     *mthread // nil: the caller is not a worker
	w     *worker  // the worker the caller had
	ch    chan struct{}
	fired atomic.Uint32
	lazy  atomic.Bool
}

// Suspend prepares a wait for the calling goroutine.
func Suspend() *Suspension {
	sp := &Suspension{}
	sp.Prepare()
	return sp
}

// Prepare is Suspend for a zero Suspension embedded in a caller's record,
// which saves an allocation per wait.
func (sp *Suspension) Prepare() {
	if w := current(); w != nil {
		sp.s, sp.m, sp.w = w.s, w.m, w
		sp.t.Init((*resumeTask)(sp))
	} else {
		sp.ch = make(chan struct{}, 1)
	}
}

// Resume ends the wait; any goroutine, any number of times (the first counts).
// It never blocks.
func (sp *Suspension) Resume() {
	if !sp.fired.CompareAndSwap(0, 1) {
		return
	}
	if sp.m == nil {
		sp.ch <- struct{}{}
		return
	}
	if sp.lazy.Load() && sp.s.takeBack(sp.w, sp) {
		sp.m.assign <- sp.w
		return
	}
	sp.s.Wake(&sp.t)
}

// takeBack removes w from the idle list if it is still parked there for sp.
func (s *Scheduler) takeBack(w *worker, sp *Suspension) bool {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	if w.susp != sp {
		return false
	}
	w.susp = nil
	for i, x := range s.idle {
		if x == w {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			s.nidle.Add(-1)
			return true
		}
	}
	return false
}

// Wait blocks until Resume; it must be called once, by the goroutine that
// called Suspend.
func (sp *Suspension) Wait() {
	if sp.m == nil {
		<-sp.ch
		return
	}
	if sp.fired.Load() != 0 && sp.t.Claim() {
		return // resumed before we parked: nothing to hand over
	}
	sp.wait()
}

func (sp *Suspension) wait() {
	s, m := sp.s, sp.m
	w := m.w
	s.resetSpinning(w) // (never set while running a task; cheap insurance)
	s.ndetached.Add(1)
	m.w = nil
	w.owner.Store(0)
	if t := w.lifo; t != nil {
		if t.Claimed() {
			w.lifo = nil // a resume task its suspension already took back
		} else if rt, ok := t.runner().(*resumeTask); ok && t.Claim() {
			// The next thing this worker would run is another suspended
			// goroutine's resumption: switch to it directly, no spare.
			w.lifo = nil
			s.handoffs.Add(1)
			rt.m.assign <- w
			s.finishWait(sp, m, <-m.assign)
			return
		}
	}
	if w.lifo == nil && w.dq.size() == 0 {
		// Nothing of ours is waiting: park the worker instead of handing
		// it over (see the type's doc). Same Dekker pairing as park.
		w.publish()
		sp.lazy.Store(true)
		s.idleMu.Lock()
		w.susp = sp
		s.idle = append(s.idle, w)
		s.nidle.Add(1)
		s.idleMu.Unlock()
		if s.anyWork() && s.takeBack(w, sp) {
			s.handoffs.Add(1)
			s.mstart(w)
		}
	} else {
		s.handoffs.Add(1)
		s.mstart(w)
	}
	s.finishWait(sp, m, <-m.assign)
}

// noOwner marks a worker parked in the idle list with no goroutine behind it:
// its suspended owner came back on another worker. A waker starts a spare.
var noOwner = &Suspension{}

func (s *Scheduler) finishWait(sp *Suspension, m *mthread, w2 *worker) {
	s.ndetached.Add(-1)
	if w2 != sp.w && sp.lazy.Load() {
		s.idleMu.Lock()
		if sp.w.susp == sp {
			sp.w.susp = noOwner
		}
		s.idleMu.Unlock()
	}
	if w2 != nil {
		s.attach(m, w2)
	}
}

type resumeTask Suspension

// RunTask runs on a worker: give that worker to the suspended goroutine and
// let the goroutine running this task become a spare.
func (r *resumeTask) RunTask() {
	sp := (*Suspension)(r)
	w := current()
	if w == nil {
		sp.m.assign <- nil // the pool is gone; continue as a plain goroutine
		return
	}
	w.m.w = nil
	w.owner.Store(0)
	sp.m.assign <- w
}

// Yield lets queued work run before the calling task goes on: a long
// computation calls it now and then so that it does not hold its worker (and
// whatever sits in the worker's LIFO slot) for its whole length. The caller
// suspends and is resumed through the global queue, behind what is queued
// there and after what is queued on its worker. Outside the pool it is
// runtime.Gosched.
func Yield() {
	sp := Suspend()
	if sp.m == nil {
		runtime.Gosched()
		return
	}
	sp.fired.Store(1) // the resume task is queued here, not by Resume
	_ = sp.s.inject(&sp.t, true)
	sp.wait()
}

// Block runs wait, which may block the calling goroutine, without pinning a
// worker; the caller holds no worker while wait runs and gets one back
// (when it had one) before Block returns.
func Block(wait func()) {
	sp := Suspend()
	if sp.m == nil {
		wait()
		return
	}
	go func() { wait(); sp.Resume() }()
	sp.Wait()
}

// OnWorker reports whether the calling goroutine currently runs one of s's workers.
func (s *Scheduler) OnWorker() bool {
	w := current()
	return w != nil && w.s == s
}

// Current returns the scheduler whose worker the calling goroutine runs, or nil.
func Current() *Scheduler {
	if w := current(); w != nil {
		return w.s
	}
	return nil
}

func (s *Scheduler) pushLocal(w *worker, t *Task) {
	if !w.dq.push(t) {
		s.overflow(w, t)
	}
	s.wakeOne()
}

// overflow moves the older half of a full deque to the global queue in one
// locked copy, taken from the deque with one CAS, and then pushes t, so a
// burst of local spawns costs one lock per 128 tasks and keeps FIFO order.
func (s *Scheduler) overflow(w *worker, t *Task) {
	var batch [dequeSize / 2]*Task
	n := 0
	for _, x := range batch[:w.dq.takeOldest(batch[:])] {
		if !x.Claimed() { // a joiner already ran it
			batch[n] = x
			n++
		}
	}
	if n > 0 {
		s.gq.mu.Lock()
		s.gq.push(batch[:n]...)
		s.gq.mu.Unlock()
	}
	if !w.dq.push(t) {
		// Not reached (the full deque just lost at least one task), but
		// never drop work.
		s.gq.mu.Lock()
		s.gq.push(t)
		s.gq.mu.Unlock()
	}
}

func (s *Scheduler) inject(t *Task, wake bool) error {
	s.gq.mu.lockPatient(s)
	if s.stopped.Load() || (!wake && s.closing.Load()) {
		s.gq.mu.Unlock()
		if !wake {
			s.rejected.Add(1)
			return ErrClosed
		}
		// After shutdown nothing may be lost, but the pool is gone: give the
		// continuation a goroutine of its own.
		go func() {
			if t.Claim() {
				t.exec()
			}
		}()
		return nil
	}
	s.gq.push(t)
	s.gq.injected++
	s.gq.mu.Unlock()
	s.wakeOne()
	return nil
}

// wakeOne unparks one idle worker when nobody is already looking for work.
// Only one spinner is woken at a time; a spinner that finds work wakes the
// next (resetSpinning), so a burst ramps the pool up without a herd.
func (s *Scheduler) wakeOne() {
	if s.nspinning.Load() != 0 || s.nidle.Load() == 0 {
		return
	}
	if !s.nspinning.CompareAndSwap(0, 1) {
		return
	}
	s.idleMu.Lock()
	var w *worker
	if n := len(s.idle); n > 0 {
		w = s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.nidle.Add(-1)
	}
	if w == nil {
		s.idleMu.Unlock()
		s.nspinning.Add(-1)
		return
	}
	w.spinning = true // published to w by the channel send
	if w.susp != nil {
		// Its owner is suspended: run it on a spare goroutine.
		w.susp = nil
		s.handoffs.Add(1)
		s.idleMu.Unlock()
		s.mstart(w)
		return
	}
	s.idleMu.Unlock()
	w.parkCh <- struct{}{}
}

func (s *Scheduler) resetSpinning(w *worker) {
	if w.spinning {
		w.spinning = false
		if s.nspinning.Add(-1) == 0 {
			s.wakeOne()
		}
	}
}

func (s *Scheduler) mstart(w *worker) {
	s.spareMu.Lock()
	if n := len(s.spares); n > 0 {
		m := s.spares[n-1]
		s.spares = s.spares[:n-1]
		s.spareMu.Unlock()
		m.assign <- w
		return
	}
	s.spareMu.Unlock()
	s.wg.Add(1)
	go s.mloop(&mthread{assign: make(chan *worker, 1)}, w)
}

// spareWait parks a goroutine without a worker until a worker needs one;
// nil means exit.
func (s *Scheduler) spareWait(m *mthread) *worker {
	s.spareMu.Lock()
	if s.stopped.Load() || len(s.spares) >= len(s.workers)+4 {
		s.spareMu.Unlock()
		return nil
	}
	s.spares = append(s.spares, m)
	s.spareMu.Unlock()
	return <-m.assign
}

func (s *Scheduler) attach(m *mthread, w *worker) {
	m.w = w
	w.m = m
	w.owner.Store(m.g)
}

func (s *Scheduler) mloop(m *mthread, w *worker) {
	defer s.wg.Done()
	m.g = getg()
	normal := false
	defer func() {
		// runtime.Goexit inside a task: never lose the worker.
		if !normal && m.w != nil {
			w := m.w
			m.w = nil
			w.owner.Store(0)
			s.mstart(w)
		}
	}()
	for w != nil {
		s.attach(m, w)
		s.work(m)
		if w := m.w; w != nil { // stopped
			m.w = nil
			w.owner.Store(0)
			break
		}
		w = s.spareWait(m) // gave our worker to a suspended goroutine
	}
	normal = true
}

func (s *Scheduler) work(m *mthread) {
	for {
		w := m.w
		if w == nil {
			return
		}
		t := s.findWork(w)
		if t == nil {
			return
		}
		if t.Claim() {
			w.countRan()
			t.exec()
		}
	}
}

func (w *worker) countRan() {
	if w.nran++; w.nran&255 == 0 {
		w.ran.Store(w.nran)
	}
}

func (w *worker) publish() {
	w.ran.Store(w.nran)
	w.spawned.Store(w.nspawn)
}

func (s *Scheduler) findWork(w *worker) *Task {
	for {
		w.tick++
		if w.tick%61 == 0 && s.gq.n.Load() > 0 {
			// Fairness: the global queue is not starved by a busy deque.
			// One task only, as the Go runtime does: a batch on top of a
			// deque that is already half full spills straight back.
			if t := s.gq.grabOne(); t != nil {
				s.resetSpinning(w)
				return t
			}
		}
		if t := w.lifo; t != nil {
			w.lifo = nil
			if w.lifoRuns < maxLIFORuns || (w.dq.size() == 0 && s.gq.n.Load() == 0) {
				w.lifoRuns++
				s.resetSpinning(w)
				return t
			}
			// Let a ping-ponging pair yield to the rest of the queue now and
			// then; with nothing else queued there is nobody to yield to, and
			// moving it would only hand it to another worker's cold cache.
			s.pushLocal(w, t)
		}
		w.lifoRuns = 0
		if t := w.dq.steal(); t != nil { // owner consumes FIFO for fairness
			// A spinner must stop spinning whatever it finds, or nspinning
			// stays up and no producer would ever wake a parked worker.
			s.resetSpinning(w)
			return t
		}
		if s.gq.n.Load() > 0 {
			if t := s.gq.grab(w, s); t != nil {
				s.resetSpinning(w)
				return t
			}
		}
		if !w.spinning {
			busy := int32(len(s.workers)) - s.nidle.Load()
			if 2*s.nspinning.Load() < busy {
				w.spinning = true
				s.nspinning.Add(1)
			}
		}
		if w.spinning {
			if t := s.steal(w); t != nil {
				s.resetSpinning(w)
				return t
			}
		}
		if !s.park(w) {
			return nil
		}
	}
}

func (s *Scheduler) steal(w *worker) *Task {
	n := len(s.workers)
	if n == 1 {
		return nil
	}
	spill := func(x *Task) {
		s.gq.mu.Lock()
		s.gq.push(x)
		s.gq.mu.Unlock()
	}
	for round := 0; round < 4; round++ {
		w.rnd ^= w.rnd << 13
		w.rnd ^= w.rnd >> 7
		w.rnd ^= w.rnd << 17
		start := int(w.rnd % uint64(n))
		for i := 0; i < n; i++ {
			v := s.workers[(start+i)%n]
			if v == w {
				continue
			}
			if t := v.dq.stealHalf(&w.dq, spill); t != nil {
				w.stolen.Add(1)
				return t
			}
		}
		if s.gq.n.Load() > 0 {
			if t := s.gq.grab(w, s); t != nil {
				return t
			}
		}
	}
	return nil
}

func (s *Scheduler) anyWork() bool {
	if s.gq.n.Load() > 0 {
		return true
	}
	for _, v := range s.workers {
		if v.dq.size() > 0 {
			return true
		}
	}
	return false
}

// park puts w to sleep until there is work; false means the scheduler stopped.
func (s *Scheduler) park(w *worker) bool {
	// Stop spinning before registering idle, then look once more: a producer
	// pushes and then reads nidle/nspinning, we publish nidle and then read
	// the queues, so one of us sees the other (sequentially consistent atomics).
	if w.spinning {
		w.spinning = false
		s.nspinning.Add(-1)
	}
	w.publish()
	s.idleMu.Lock()
	s.idle = append(s.idle, w)
	s.nidle.Add(1)
	s.idleMu.Unlock()
	if s.anyWork() && !s.stopped.Load() {
		if s.removeIdle(w) {
			return true
		}
		// A waker already took us off the list; its token is on the way.
	} else {
		s.checkQuiesce()
	}
	s.parks.Add(1)
	<-w.parkCh
	return !s.stopped.Load()
}

func (s *Scheduler) removeIdle(w *worker) bool {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for i, x := range s.idle {
		if x == w {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			s.nidle.Add(-1)
			return true
		}
	}
	return false
}

// checkQuiesce stops the scheduler once Close has begun and nothing is left:
// every worker parked, no goroutine suspended, the global queue empty.
// Parked workers have empty deques and LIFO slots by construction.
func (s *Scheduler) checkQuiesce() {
	if !s.closing.Load() || int(s.nidle.Load()) != len(s.workers) || s.ndetached.Load() != 0 || !s.blocking.idle() {
		return
	}
	s.gq.mu.Lock()
	ok := s.gq.n.Load() == 0 && !s.stopped.Load() &&
		int(s.nidle.Load()) == len(s.workers) && s.ndetached.Load() == 0 && s.blocking.idle()
	if ok {
		s.stopped.Store(true)
	}
	s.gq.mu.Unlock()
	if ok {
		close(s.quiesced)
	}
}

// Close shuts the scheduler down. Shutdown runs what is queued and rejects
// what is new from outside: from the moment Close begins, Spawn, Go and
// Blocking called from outside the pool return ErrClosed, and Context is
// cancelled; every task already queued, running or suspended still runs to
// its end, and may still spawn children and continuations, which run too.
// Close returns when nothing is queued or running and every goroutine of the
// pool has exited, so a task that never returns keeps Close waiting. Called
// from one of s's own tasks, Close only begins the shutdown and returns at
// once.
func (s *Scheduler) Close() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.cancel(ErrClosed)
		s.blocking.close()
	})
	if s.OnWorker() {
		return
	}
	s.checkQuiesce()
	<-s.quiesced
	s.stopOnce.Do(func() {
		for _, w := range s.workers {
			select {
			case w.parkCh <- struct{}{}:
			default:
			}
		}
		s.spareMu.Lock()
		for _, m := range s.spares {
			m.assign <- nil
		}
		s.spares = nil
		s.spareMu.Unlock()
	})
	s.wg.Wait()
	s.blocking.release()
	unregister(s.workers)
}

// Stats is a snapshot of counters, read with atomics while the pool runs.
// Spawned and Ran are published by each worker every 256 counts and whenever
// it parks, so while workers are busy they may lag by up to 255 per worker;
// on an idle or closed pool they are exact.
type Stats struct {
	Workers  int
	Spawned  uint64 // tasks queued (local and injected)
	Injected uint64 // tasks that came through the global queue from outside
	Ran      uint64 // tasks run (by workers and inline by joiners)
	Stolen   uint64 // successful steals
	Queued   int    // tasks waiting in deques and the global queue now
	Parked   int    // workers parked now
	Spinning int    // workers looking for work now
	Parks    uint64 // times a worker went to sleep
	Handoffs uint64 // workers handed to a spare goroutine by a suspension
	Detached int    // goroutines suspended now, their worker given away
	Rejected uint64 // submissions refused after Close
	Panics   uint64 // panics recovered from Go tasks

	BlockingRunning int // functions running on the blocking pool
	BlockingQueued  int // functions waiting for a blocking-pool goroutine
}

// Stats returns current counters.
func (s *Scheduler) Stats() Stats {
	st := Stats{
		Workers: len(s.workers),

		Parked:   int(s.nidle.Load()),
		Spinning: int(s.nspinning.Load()),
		Parks:    s.parks.Load(),
		Handoffs: s.handoffs.Load(),
		Detached: int(s.ndetached.Load()),
		Rejected: s.rejected.Load(),
		Panics:   s.panics.Load(),
	}
	s.gq.mu.Lock()
	st.Injected = s.gq.injected
	st.Queued = s.gq.cnt
	s.gq.mu.Unlock()
	st.Spawned = st.Injected
	for _, w := range s.workers {
		st.Spawned += w.spawned.Load()
		st.Ran += w.ran.Load()
		st.Stolen += w.stolen.Load()
		st.Queued += w.dq.size()
	}
	st.BlockingRunning, st.BlockingQueued = s.blocking.stats()
	return st
}

// gqueue is the global injection queue: a FIFO of task pointers in linked
// fixed-size segments under a mutex, so a pending task costs 8 bytes here
// beyond itself. Segments rather than a growable ring: a burst of a million
// outside spawns would otherwise copy the ring at every doubling and leave
// megabytes of garbage behind each time it drains, which the collector then
// pays for while the spawner is still allocating handles. A drained segment
// is kept as the spare for the next one, so a steady trickle allocates
// nothing.
type gqueue struct {
	mu       spinLock
	head     *gseg // oldest segment; nil when the queue has never held anything
	tail     *gseg
	hi, ti   int // next slot to take in head, next slot to fill in tail
	spare    *gseg
	cnt      int
	injected uint64
	// n mirrors cnt for lock-free emptiness checks. It is stored only when
	// the queue turns empty or non-empty: a fenced store per push would
	// cost the spawner more than the push itself.
	n atomic.Int64
}

// 1023 slots and a link: a segment is exactly 8 KiB, a size class of its own.
const gsegSize = 1023

type gseg struct {
	buf  [gsegSize]*Task
	next *gseg
}

func (q *gqueue) setCount(old int) {
	if (old == 0) != (q.cnt == 0) {
		q.n.Store(int64(q.cnt))
	}
}

func (q *gqueue) newSeg() *gseg {
	if g := q.spare; g != nil {
		q.spare = nil
		return g
	}
	return new(gseg)
}

func (q *gqueue) push(ts ...*Task) {
	old := q.cnt
	if q.tail == nil {
		q.head = q.newSeg()
		q.tail, q.hi, q.ti = q.head, 0, 0
	}
	for _, t := range ts {
		if q.ti == gsegSize {
			g := q.newSeg()
			q.tail.next = g
			q.tail, q.ti = g, 0
		}
		q.tail.buf[q.ti] = t
		q.ti++
	}
	q.cnt += len(ts)
	q.setCount(old)
}

// take moves up to len(dst) of the oldest tasks into dst; the caller holds mu.
func (q *gqueue) take(dst []*Task) int {
	old := q.cnt
	n := min(len(dst), q.cnt)
	for i := 0; i < n; i++ {
		if q.hi == gsegSize {
			g := q.head
			q.head, q.hi = g.next, 0
			g.next = nil
			q.spare = g // its slots were cleared as they were taken
		}
		dst[i] = q.head.buf[q.hi]
		q.head.buf[q.hi] = nil
		q.hi++
	}
	q.cnt -= n
	if q.cnt == 0 {
		// Empty: start the next burst at the front of the head segment,
		// and let every other segment go.
		q.head.next = nil
		q.tail, q.hi, q.ti = q.head, 0, 0
	}
	q.setCount(old)
	return n
}

// grab takes a fair share of the global queue into w's deque and returns one
// task to run.
func (q *gqueue) grab(w *worker, s *Scheduler) *Task {
	var batch [dequeSize / 2]*Task
	q.mu.Lock()
	n := q.cnt
	if n == 0 {
		q.mu.Unlock()
		return nil
	}
	take := q.take(batch[:min(n/len(s.workers)+1, len(batch))])
	q.mu.Unlock()
	live := batch[1:1]
	for _, x := range batch[1:take] {
		// The Claimed check drops entries a joiner already ran, and it is
		// the first touch of a task a spawner far ahead wrote long ago: a
		// batch of independent loads here, rather than one cache miss per
		// task later on the way to running it.
		if !x.Claimed() {
			live = append(live, x)
		}
	}
	pushed := w.dq.pushBatch(live)
	for _, x := range live[pushed:] {
		if !w.dq.push(x) {
			s.overflow(w, x)
		}
	}
	if take > 1 {
		s.wakeOne()
	}
	return batch[0]
}

// grabOne takes just the oldest task: the fairness look at the global queue
// from a busy worker, whose deque has no room to spare for a batch.
func (q *gqueue) grabOne() *Task {
	var one [1]*Task
	q.mu.Lock()
	if q.cnt == 0 {
		q.mu.Unlock()
		return nil
	}
	q.take(one[:])
	q.mu.Unlock()
	return one[0]
}

// All live workers of all schedulers, for current().
var (
	regMu    sync.Mutex
	registry atomic.Pointer[[]*worker]
	gcache   [256]atomic.Pointer[worker]
)

func register(ws []*worker) {
	regMu.Lock()
	defer regMu.Unlock()
	var all []*worker
	if p := registry.Load(); p != nil {
		all = append(all, *p...)
	}
	all = append(all, ws...)
	registry.Store(&all)
}

func unregister(ws []*worker) {
	regMu.Lock()
	defer regMu.Unlock()
	p := registry.Load()
	if p == nil {
		return
	}
	var all []*worker
	for _, w := range *p {
		keep := true
		for _, x := range ws {
			if w == x {
				keep = false
			}
		}
		if keep {
			all = append(all, w)
		}
	}
	registry.Store(&all)
	for i := range gcache {
		if w := gcache[i].Load(); w != nil && w.owner.Load() == 0 {
			gcache[i].CompareAndSwap(w, nil)
		}
	}
}

// current returns the worker the calling goroutine runs, or nil. A
// direct-mapped cache keyed by the goroutine address makes the common case a
// few loads; ownership is always confirmed on the worker itself.
func current() *worker {
	g := getg()
	i := (g>>4 ^ g>>12) & uintptr(len(gcache)-1)
	if w := gcache[i].Load(); w != nil && w.owner.Load() == g {
		return w
	}
	p := registry.Load()
	if p == nil {
		return nil
	}
	for _, w := range *p {
		if w.owner.Load() == g {
			gcache[i].Store(w)
			return w
		}
	}
	return nil
}

// spinLock guards the global queue. Its critical sections are a few stores
// (one push) or a copy of at most dequeSize/2 pointers, taken by the outside
// spawner once per task and by workers once per batch. A sync.Mutex goes
// wrong here: the spawner re-takes it so often that a worker waiting on it
// starves, the mutex turns to starvation mode, and from then on each Unlock
// by the spawner hands the lock over together with the spawner's own P, so
// the spawner, the one goroutine that paces the whole burst, waits in the
// run queue behind the worker it just served. A waiter here spins instead,
// and yields only now and then, for a holder that lost its P.
type spinLock struct{ v atomic.Uint32 }

func (l *spinLock) Lock() {
	if l.v.CompareAndSwap(0, 1) {
		return
	}
	l.lockSlow()
}

func (l *spinLock) lockSlow() {
	for i := 1; ; i++ {
		if l.v.Load() == 0 && l.v.CompareAndSwap(0, 1) {
			return
		}
		if i%64 == 0 {
			runtime.Gosched()
		}
	}
}

// lockPatient is Lock for inject, whose callers are mostly outside the pool:
// spawners, and event loops waking continuations. While some worker is idle or
// looking for work, such a caller paces the pool, and a yield would send it to
// the back of the run queue behind the workers it feeds (a trace of 3M
// outside spawns with two workers on two Ps counted 7,459 such yields, the
// spawner on CPU 87% of the time): then it pauses between looks and yields
// only after about 1024 of them, far longer than any critical section. While
// every worker is busy, CPU is what is short, and it yields as soon as a
// worker would.
func (l *spinLock) lockPatient(s *Scheduler) {
	if l.v.CompareAndSwap(0, 1) {
		return
	}
	for i := 1; ; i++ {
		spinwait.Pause()
		if l.v.Load() == 0 && l.v.CompareAndSwap(0, 1) {
			return
		}
		if i%64 == 0 && (i%1024 == 0 || s.nidle.Load()+s.nspinning.Load() == 0) {
			runtime.Gosched()
		}
	}
}

func (l *spinLock) Unlock() { l.v.Store(0) }
