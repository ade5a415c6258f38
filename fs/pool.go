package fs

import (
	"os"
	"sync"

	"github.com/weftrt/weft/task"
)

// poolDriver runs each operation as one blocking call on the scheduler's bounded
// blocking pool: portable, and what runs where io_uring cannot.
//
// A blocking call cannot be taken back once it runs, so FS.Close waits for the running
// ones (shutdown) before any file is closed: a read never has its fd closed, or its
// buffer handed back, under it. Calls still queued when shutdown begins fail with
// ErrClosed instead of running, like the operations io_uring cancels.
type poolDriver struct {
	ex task.Executor

	mu      sync.Mutex
	running int           // calls handed to the pool and not yet returned
	closed  bool          // shutdown began: calls that have not started fail
	idle    chan struct{} // closed when running drops to 0 after shutdown began
}

func newPoolDriver(ex task.Executor) *poolDriver { return &poolDriver{ex: ex} }

// blocking runs fn on the pool, or fail(ErrClosed) when the FS or the pool is closing.
// fail must not block: it runs on the caller or on a pool goroutine.
func (d *poolDriver) blocking(fn func(), fail func(error)) {
	if !d.enter() {
		fail(ErrClosed)
		return
	}
	err := d.ex.Scheduler().Blocking(func() {
		if d.isClosed() {
			fail(ErrClosed)
		} else {
			fn()
		}
		d.done()
	})
	if err != nil {
		d.done()
		fail(ErrClosed)
	}
}

// enter counts a call about to be handed to the pool, unless shutdown began.
func (d *poolDriver) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.running++
	return true
}

func (d *poolDriver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

func (d *poolDriver) done() {
	d.mu.Lock()
	d.running--
	if d.running == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
	d.mu.Unlock()
}

func (d *poolDriver) open(fsys *FS, name string, flag int, perm uint32, fut *task.Future[*File]) {
	d.blocking(func() {
		osf, err := os.OpenFile(name, flag, os.FileMode(perm)&os.ModePerm|permExtra(perm))
		if err != nil {
			fut.Complete(nil, err)
			return
		}
		f := &File{fsys: fsys, name: name, fd: -1, osf: osf, appendMode: flag&os.O_APPEND != 0}
		if !fsys.track(f) {
			osf.Close()
			fut.Complete(nil, &os.PathError{Op: "open", Path: name, Err: ErrClosed})
			return
		}
		fut.Complete(f, nil)
	}, func(err error) { fut.Complete(nil, &os.PathError{Op: "open", Path: name, Err: err}) })
}

// rw hands the pool a method value cached in the (pooled) op, so a read or write costs
// no closure allocation.
func (d *poolDriver) rw(op *rwOp) {
	if !d.enter() {
		op.finish(ErrClosed)
		return
	}
	op.pd = d
	if op.poolRun == nil {
		op.poolRun = op.runOnPool
	}
	if err := d.ex.Scheduler().Blocking(op.poolRun); err != nil {
		d.done()
		op.finish(ErrClosed)
	}
}

func (op *rwOp) runOnPool() {
	d := op.pd // op may be recycled by finish
	defer d.done()
	if d.isClosed() {
		op.finish(ErrClosed)
		return
	}
	if op.ctx != nil {
		if err := op.ctx.Err(); err != nil {
			op.cancelled.Store(true)
			op.finish(err)
			return
		}
	}
	var n int
	var err error
	switch {
	case op.kind == kWrite && op.f.appendMode:
		n, err = op.f.osf.Write(op.p) // WriteAt refuses O_APPEND files
	case op.kind.write():
		n, err = op.f.osf.WriteAt(op.p, op.off)
	default:
		n, err = op.f.osf.ReadAt(op.p, op.off)
	}
	op.done = n
	op.finish(err)
}

func (d *poolDriver) sync(f *File, fut *task.Future[struct{}]) {
	d.blocking(func() {
		err := f.osf.Sync()
		f.releaseRef()
		fut.Complete(struct{}{}, err)
	}, func(err error) { f.releaseRef(); fut.Complete(struct{}{}, f.pathErr("sync", err)) })
}

func (d *poolDriver) stat(f *File, fut *task.Future[os.FileInfo]) {
	d.blocking(func() {
		fi, err := f.osf.Stat()
		f.releaseRef()
		fut.Complete(fi, err)
	}, func(err error) { f.releaseRef(); fut.Complete(nil, f.pathErr("stat", err)) })
}

func (d *poolDriver) statPath(name string, fut *task.Future[os.FileInfo]) {
	d.blocking(func() {
		fi, err := os.Stat(name)
		fut.Complete(fi, err)
	}, func(err error) { fut.Complete(nil, &os.PathError{Op: "stat", Path: name, Err: err}) })
}

func (d *poolDriver) closeFile(f *File, fut *task.Future[struct{}]) {
	d.blocking(func() {
		err := f.osf.Close()
		f.fsys.untrack(f)
		fut.Complete(struct{}{}, err)
	}, func(error) {
		// The pool is gone (runtime closing): closing an fd does not block, do it here.
		err := f.osf.Close()
		f.fsys.untrack(f)
		fut.Complete(struct{}{}, err)
	})
}

// shutdown refuses new calls and waits for the running ones. Calls on regular files
// always return; queued calls see closed and fail at once.
func (d *poolDriver) shutdown() {
	d.mu.Lock()
	d.closed = true
	if d.running == 0 {
		d.mu.Unlock()
		return
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	idle := d.idle
	d.mu.Unlock()
	<-idle
}

func (d *poolDriver) release() error { return nil }

func permExtra(perm uint32) os.FileMode {
	var m os.FileMode
	if perm&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if perm&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if perm&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}
