package fs

import (
	"os"

	"github.com/weftrt/weft/task"
)

// poolDriver runs each operation as one blocking call on the scheduler's bounded
// blocking pool: portable, and what runs where io_uring cannot.
type poolDriver struct{ ex task.Executor }

func newPoolDriver(ex task.Executor) *poolDriver { return &poolDriver{ex: ex} }

func (d *poolDriver) blocking(fn func(), fail func(error)) {
	if err := d.ex.Scheduler().Blocking(fn); err != nil {
		fail(ErrClosed)
	}
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

func (d *poolDriver) rw(op *rwOp) {
	d.blocking(func() {
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
	}, func(err error) { op.finish(err) })
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

// The blocking pool belongs to the scheduler, which waits for its work when it closes.
func (d *poolDriver) shutdown()      {}
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
