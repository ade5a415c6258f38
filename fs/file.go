package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft/task"
)

var ioEOF = io.EOF

// File is an open file whose operations return futures. Its methods may be called from
// any goroutine; ReadAt and WriteAt may be in flight concurrently in any number, while
// Read and Write (which use and advance the file position) run one after another in the
// order they were called.
type File struct {
	fsys *FS
	name string
	fd   int      // io_uring backend
	osf  *os.File // pool backend

	appendMode bool // O_APPEND: Write appends wherever the position is

	// io_uring backend: after fixedAfter operations the fd is registered with every ring
	// (fixedDone then set, fixed[i] the slot in ring i), so later reads and writes skip
	// the kernel's per-operation fd lookup and reference count.
	nops      atomic.Int32
	fixedBusy atomic.Bool
	fixedDone atomic.Bool
	fixed     []int32

	// state counts the operations holding the fd, with closingBit set once Close was
	// called (no new operations). It is one atomic word rather than fields under mu:
	// every read takes a reference on the submitting thread and drops it on the one that
	// reaps, and a mutex there would bounce between the cores twice per operation.
	state atomic.Int64

	mu       sync.Mutex
	fdClosed bool // guarded by mu, as are closeFut and the Read/Write fields below
	closeFut *task.Future[struct{}]

	pos     int64 // Read/Write position
	seqBusy bool
	seqQ    []*rwOp
}

type opKind uint8

const (
	kReadAt opKind = iota
	kWriteAt
	kRead
	kWrite
)

func (k opKind) write() bool { return k == kWriteAt || k == kWrite }
func (k opKind) seq() bool   { return k == kRead || k == kWrite }

// rwOp is one read or write, possibly resubmitted for the rest after a short transfer.
type rwOp struct {
	f    *File
	kind opKind
	p    []byte
	off  int64
	done int
	fut  *task.Future[int]

	eng       ringEngine // the ring an io_uring op runs on (nil on the pool)
	slot      int32      // its registered-file slot in eng, or -1: the plain fd
	pd        *poolDriver
	poolRun   func() // op.runOnPool, made once per pooled op and kept across reuse
	ctx       context.Context
	stop      func() bool // unregisters the context.AfterFunc that cancels
	ticket    atomic.Uint64
	cancelled atomic.Bool
}

var opPool = sync.Pool{New: func() any { return new(rwOp) }}

// Name is the name the file was opened with.
func (f *File) Name() string { return f.name }

const closingBit = 1 << 62

func (f *File) acquire() bool {
	for {
		s := f.state.Load()
		if s&closingBit != 0 {
			return false
		}
		if f.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (f *File) releaseRef() {
	if f.state.Add(-1) != closingBit {
		return
	}
	// The last operation of a closing file: Close set closeFut (under mu) before it
	// set closingBit, and found an operation still holding the fd.
	f.mu.Lock()
	var fut *task.Future[struct{}]
	if f.closeFut != nil && !f.fdClosed {
		fut = f.closeFut
		f.fdClosed = true
	}
	f.mu.Unlock()
	if fut != nil {
		f.fsys.drv.closeFile(f, fut)
	}
}

func (f *File) pathErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &os.PathError{Op: op, Path: f.name, Err: err}
}

// ReadAt reads len(p) bytes at off (io.ReaderAt semantics: fewer only with an error,
// io.EOF at the end of the file). p belongs to the operation until the future completes.
func (f *File) ReadAt(p []byte, off int64) *task.Future[int] { return f.start(nil, kReadAt, p, off) }

// WriteAt writes all of p at off.
func (f *File) WriteAt(p []byte, off int64) *task.Future[int] { return f.start(nil, kWriteAt, p, off) }

// Read reads up to len(p) bytes at the file position and advances it (io.Reader
// semantics: io.EOF with n == 0 at the end).
func (f *File) Read(p []byte) *task.Future[int] { return f.start(nil, kRead, p, 0) }

// Write writes all of p at the file position and advances it (at the end of the file for
// O_APPEND).
func (f *File) Write(p []byte) *task.Future[int] { return f.start(nil, kWrite, p, 0) }

// ReadAtContext is ReadAt that ctx can cancel. With io_uring the kernel operation is
// cancelled (IORING_OP_ASYNC_CANCEL) and the future completes, with ctx's error, only once
// the kernel has let go of p; if the read won the race its result is returned instead. On
// the pool a read that has started runs to its end.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) *task.Future[int] {
	return f.start(ctx, kReadAt, p, off)
}

// WriteAtContext is WriteAt that ctx can cancel, as ReadAtContext.
func (f *File) WriteAtContext(ctx context.Context, p []byte, off int64) *task.Future[int] {
	return f.start(ctx, kWriteAt, p, off)
}

func (f *File) start(ctx context.Context, kind opKind, p []byte, off int64) *task.Future[int] {
	opName := "read"
	if kind.write() {
		opName = "write"
	}
	if off < 0 {
		return task.Ready(0, f.pathErr(opName, ErrInvalid))
	}
	if !f.acquire() {
		return task.Ready(0, f.pathErr(opName, ErrClosed))
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			f.releaseRef()
			return task.Ready(0, f.pathErr(opName, err))
		}
	}
	if len(p) == 0 {
		f.releaseRef()
		return task.Ready(0, nil)
	}
	op := opPool.Get().(*rwOp)
	op.f, op.kind, op.p, op.off, op.ctx = f, kind, p, off, ctx
	op.fut = task.NewFuture[int](f.fsys.ex)
	fut := op.fut
	if kind.seq() {
		f.mu.Lock()
		if f.seqBusy {
			f.seqQ = append(f.seqQ, op)
			f.mu.Unlock()
			return fut
		}
		f.seqBusy = true
		op.off = f.pos
		f.mu.Unlock()
	}
	f.fsys.drv.rw(op)
	return fut
}

// finish is called exactly once per op by the backend, after the kernel or the blocking
// call has let go of op.p.
func (op *rwOp) finish(err error) {
	if op.stop != nil {
		op.stop()
	}
	n := op.done
	switch op.kind {
	case kReadAt:
		if err == nil && n < len(op.p) {
			err = io.EOF
		}
	case kRead:
		if n > 0 && err == io.EOF {
			err = nil
		} else if n == 0 && err == nil {
			err = io.EOF
		}
	default:
		if err == nil && n < len(op.p) {
			err = io.ErrShortWrite
		}
	}
	f, fut, kind := op.f, op.fut, op.kind
	if op.ctx != nil && err != nil && op.cancelled.Load() {
		if cerr := op.ctx.Err(); cerr != nil && !errors.Is(err, io.EOF) {
			err = cerr
		}
	}
	opName := "read"
	if kind.write() {
		opName = "write"
	}
	err = f.pathErr(opName, err)
	reuse := op.ctx == nil // a context.AfterFunc may still hold op
	if reuse {
		run := op.poolRun
		*op = rwOp{}
		op.poolRun = run
		opPool.Put(op)
	}
	if kind.seq() {
		f.mu.Lock()
		f.pos += int64(n)
		var next *rwOp
		if len(f.seqQ) > 0 {
			next = f.seqQ[0]
			f.seqQ = f.seqQ[1:]
			next.off = f.pos
		} else {
			f.seqBusy = false
		}
		f.mu.Unlock()
		if next != nil {
			f.fsys.drv.rw(next)
		}
	}
	f.releaseRef()
	fut.Complete(n, err)
}

// Sync commits the file's contents to stable storage (fsync).
func (f *File) Sync() *task.Future[struct{}] {
	if !f.acquire() {
		return task.Ready(struct{}{}, f.pathErr("sync", ErrClosed))
	}
	fut := task.NewFuture[struct{}](f.fsys.ex)
	f.fsys.drv.sync(f, fut)
	return fut
}

// Stat describes the open file.
func (f *File) Stat() *task.Future[os.FileInfo] {
	if !f.acquire() {
		return task.Ready[os.FileInfo](nil, f.pathErr("stat", ErrClosed))
	}
	fut := task.NewFuture[os.FileInfo](f.fsys.ex)
	f.fsys.drv.stat(f, fut)
	return fut
}

// Close closes the file once the operations already in flight have completed (so the fd
// number is never reused under them); new operations fail with ErrClosed at once. A
// second Close reports ErrClosed.
func (f *File) Close() *task.Future[struct{}] {
	f.mu.Lock()
	if f.state.Load()&closingBit != 0 {
		f.mu.Unlock()
		return task.Ready(struct{}{}, f.pathErr("close", ErrClosed))
	}
	fut := task.NewFuture[struct{}](f.fsys.ex)
	f.closeFut = fut
	now := f.state.Or(closingBit) == 0 // no operation holds the fd
	if now {
		f.fdClosed = true
	}
	f.mu.Unlock()
	if now {
		f.fsys.drv.closeFile(f, fut)
	}
	return fut
}

// forceClose runs in FS.Close after the backend drained: nothing is in flight any more.
func (f *File) forceClose() {
	f.mu.Lock()
	f.state.Or(closingBit)
	already := f.fdClosed
	f.fdClosed = true
	fut := f.closeFut
	f.mu.Unlock()
	if already {
		return
	}
	err := closeSync(f)
	f.fsys.untrack(f)
	if fut != nil {
		fut.Complete(struct{}{}, f.pathErr("close", err))
	}
}

func closeSync(f *File) error {
	if f.osf != nil {
		return f.osf.Close()
	}
	return closeFd(f.fd)
}

// fileInfo implements os.FileInfo for both backends' stat results.
type fileInfo struct {
	name    string
	size    int64
	mode    os.FileMode
	modTime time.Time
	sys     any
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() os.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return fi.sys }

func baseName(name string) string { return filepath.Base(name) }
