package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"sync"

	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

var (
	// ErrNotExist: the path does not exist (io/fs.ErrNotExist, so os.IsNotExist agrees).
	ErrNotExist = iofs.ErrNotExist
	// ErrClosed: the File, or the FS it came from, is closed (io/fs.ErrClosed).
	ErrClosed = iofs.ErrClosed
	// ErrInvalid: a bad argument such as a negative offset (io/fs.ErrInvalid).
	ErrInvalid = iofs.ErrInvalid
	// ErrUnavailable: the io_uring backend was forced but cannot run here.
	ErrUnavailable = errors.New("fs: io_uring backend unavailable")
)

// Backend selects how file operations run.
type Backend int

const (
	// Auto uses io_uring where it works and the blocking pool elsewhere.
	Auto Backend = iota
	// URing requires io_uring; New fails with ErrUnavailable without it.
	URing
	// Pool runs every operation on the scheduler's blocking pool.
	Pool
)

func (b Backend) String() string {
	switch b {
	case URing:
		return "io_uring"
	case Pool:
		return "pool"
	}
	return "auto"
}

type config struct {
	backend   Backend
	loop      *reactor.Loop
	noReactor bool
	entries   uint32
	rings     int
}

// Option configures New.
type Option func(*config)

// WithBackend forces a backend (default Auto).
func WithBackend(b Backend) Option { return func(c *config) { c.backend = b } }

// WithLoop names the reactor loop that watches the ring's eventfd. By default it is a
// loop of the executor's Reactor() group when the executor has one.
func WithLoop(l *reactor.Loop) Option { return func(c *config) { c.loop = l } }

// WithoutReactor makes the ring reap on its own goroutine even if a reactor is at hand.
func WithoutReactor() Option { return func(c *config) { c.noReactor = true } }

// RingEntries sets the submission-queue size of the ring (default 256; the completion
// queue is twice that, and at most half of it is used by reads and writes at once:
// further operations wait their turn on the Go side).
func RingEntries(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.entries = uint32(n)
		}
	}
}

// Rings sets how many io_uring instances share the work, round-robin per operation
// (default: the number of reactor loops or min(GOMAXPROCS, 4), whichever is larger; the
// rings' eventfds are spread over the loops). A ring runs page-cache reads on the core
// that flushes it, under its own kernel lock, so more rings let more cores read at once.
func Rings(n int) Option { return func(c *config) { c.rings = n } }

// reactorHolder is what *weft.Runtime offers beyond task.Executor; fs asks for it by
// interface so that it need not import the root package.
type reactorHolder interface{ Reactor() *reactor.Group }

// closeNotifier lets an FS close itself before the runtime's reactor stops.
type closeNotifier interface {
	OnClose(fn func()) (remove func())
}

// driver is one backend. Operations report through the op or future they are given.
type driver interface {
	open(fsys *FS, name string, flag int, perm uint32, fut *task.Future[*File])
	rw(op *rwOp)
	sync(f *File, fut *task.Future[struct{}])
	stat(f *File, fut *task.Future[os.FileInfo])
	statPath(name string, fut *task.Future[os.FileInfo])
	closeFile(f *File, fut *task.Future[struct{}])
	shutdown() // cancel and drain what is in flight
	release() error
}

// FS is one backend instance bound to an executor. Its methods are safe for concurrent
// use from any goroutine, reactor loops included.
type FS struct {
	ex      task.Executor
	backend Backend
	drv     driver
	unhook  func()

	mu     sync.Mutex
	files  map[*File]struct{}
	closed bool
	once   sync.Once
	err    error
}

// New creates an FS on ex. With Auto it picks io_uring when it works, else the pool.
func New(ex task.Executor, opts ...Option) (*FS, error) {
	if ex == nil || ex.Scheduler() == nil {
		return nil, errors.New("fs: New needs an executor")
	}
	cfg := config{entries: 256}
	for _, o := range opts {
		o(&cfg)
	}
	fsys := &FS{ex: ex, files: make(map[*File]struct{})}
	switch cfg.backend {
	case Pool:
		fsys.drv, fsys.backend = newPoolDriver(ex), Pool
	case URing, Auto:
		d, err := newURingDriver(ex, &cfg)
		switch {
		case err == nil:
			fsys.drv, fsys.backend = d, URing
		case cfg.backend == URing:
			return nil, err
		default:
			fsys.drv, fsys.backend = newPoolDriver(ex), Pool
		}
	default:
		return nil, errors.New("fs: unknown backend")
	}
	if cn, ok := ex.(closeNotifier); ok {
		fsys.unhook = cn.OnClose(func() { fsys.close(false) })
	}
	return fsys, nil
}

// Backend reports the backend in use (URing or Pool).
func (fsys *FS) Backend() Backend { return fsys.backend }

// Close cancels and waits for every operation in flight, closes files left open and
// releases the ring. With a runtime that has OnClose (weft.Runtime), this happens by
// itself when the runtime closes.
func (fsys *FS) Close() error { return fsys.close(true) }

func (fsys *FS) close(unhook bool) error {
	fsys.once.Do(func() {
		if unhook && fsys.unhook != nil {
			fsys.unhook()
		}
		fsys.mu.Lock()
		fsys.closed = true
		fsys.mu.Unlock()
		fsys.drv.shutdown()
		fsys.mu.Lock()
		left := make([]*File, 0, len(fsys.files))
		for f := range fsys.files {
			left = append(left, f)
		}
		fsys.mu.Unlock()
		for _, f := range left {
			f.forceClose()
		}
		fsys.err = fsys.drv.release()
	})
	return fsys.err
}

func (fsys *FS) track(f *File) bool {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	if fsys.closed {
		return false
	}
	fsys.files[f] = struct{}{}
	return true
}

func (fsys *FS) untrack(f *File) {
	fsys.mu.Lock()
	delete(fsys.files, f)
	fsys.mu.Unlock()
}

func (fsys *FS) isClosed() bool {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	return fsys.closed
}

// Open opens name for reading.
func (fsys *FS) Open(name string) *task.Future[*File] {
	return fsys.OpenFile(name, os.O_RDONLY, 0)
}

// Create creates or truncates name for reading and writing (mode 0666 before umask).
func (fsys *FS) Create(name string) *task.Future[*File] {
	return fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// OpenFile is the general open, with os.O_* flags and a permission for O_CREATE.
func (fsys *FS) OpenFile(name string, flag int, perm os.FileMode) *task.Future[*File] {
	if fsys.isClosed() {
		return task.Ready[*File](nil, &os.PathError{Op: "open", Path: name, Err: ErrClosed})
	}
	if name == "" {
		return task.Ready[*File](nil, &os.PathError{Op: "open", Path: name, Err: ErrNotExist})
	}
	fut := task.NewFuture[*File](fsys.ex)
	fsys.drv.open(fsys, name, flag, uint32(perm.Perm())|modeBits(perm), fut)
	return fut
}

// Stat describes the named file (following symlinks).
func (fsys *FS) Stat(name string) *task.Future[os.FileInfo] {
	if fsys.isClosed() {
		return task.Ready[os.FileInfo](nil, &os.PathError{Op: "stat", Path: name, Err: ErrClosed})
	}
	fut := task.NewFuture[os.FileInfo](fsys.ex)
	fsys.drv.statPath(name, fut)
	return fut
}

// ReadFile reads the whole named file. It runs as a task whose waits do not pin a worker.
func (fsys *FS) ReadFile(name string) *task.Future[[]byte] {
	return task.Spawn(fsys.ex, func(ctx context.Context) ([]byte, error) {
		f, err := fsys.Open(name).Join()
		if err != nil {
			return nil, err
		}
		defer func() { f.Close().Join() }() // the fd is closed when ReadFile completes
		size := 0
		if fi, err := f.Stat().Join(); err == nil && fi.Mode().IsRegular() {
			size = int(fi.Size())
		}
		buf := make([]byte, 0, size+512) // +512: notice EOF without another grow
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := f.ReadAt(buf[len(buf):cap(buf)], int64(len(buf))).Join()
			buf = buf[:len(buf)+n]
			if err == ioEOF {
				return buf, nil
			}
			if err != nil {
				return buf, err
			}
		}
	}).Future()
}

// WriteFile writes data to name, creating it with perm or truncating it.
func (fsys *FS) WriteFile(name string, data []byte, perm os.FileMode) *task.Future[struct{}] {
	return task.Spawn(fsys.ex, func(ctx context.Context) (struct{}, error) {
		f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm).Join()
		if err != nil {
			return struct{}{}, err
		}
		_, err = f.WriteAt(data, 0).Join()
		if _, cerr := f.Close().Join(); err == nil {
			err = cerr
		}
		return struct{}{}, err
	}).Future()
}

func modeBits(m os.FileMode) uint32 {
	var o uint32
	if m&os.ModeSetuid != 0 {
		o |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		o |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		o |= 0o1000
	}
	return o
}

// The package-level functions use one FS per executor, created on first use with the
// default options and closed with the runtime (when the executor has OnClose) or by
// CloseDefault.
var (
	defMu sync.Mutex
	defFS = map[task.Executor]*defEntry{}
)

type defEntry struct {
	fsys *FS
	err  error
}

// Default returns the shared FS of ex, creating it on first use.
func Default(ex task.Executor) (*FS, error) {
	defMu.Lock()
	defer defMu.Unlock()
	if e, ok := defFS[ex]; ok {
		return e.fsys, e.err
	}
	fsys, err := New(ex)
	defFS[ex] = &defEntry{fsys, err}
	if err == nil && fsys.unhook != nil {
		// Forget the entry when the runtime closes it, so a new runtime at the same
		// address (or a test) starts afresh.
		fsys.unhook()
		fsys.unhook = ex.(closeNotifier).OnClose(func() {
			defMu.Lock()
			delete(defFS, ex)
			defMu.Unlock()
			fsys.close(false)
		})
	}
	return fsys, err
}

// CloseDefault closes the shared FS of ex, if any.
func CloseDefault(ex task.Executor) error {
	defMu.Lock()
	e, ok := defFS[ex]
	delete(defFS, ex)
	defMu.Unlock()
	if !ok || e.err != nil {
		return nil
	}
	return e.fsys.Close()
}

func withDefault[T any](ex task.Executor, op, name string, fn func(*FS) *task.Future[T]) *task.Future[T] {
	fsys, err := Default(ex)
	if err != nil {
		var zero T
		return task.Ready(zero, &os.PathError{Op: op, Path: name, Err: err})
	}
	return fn(fsys)
}

// Open opens name for reading on ex's shared FS.
func Open(ex task.Executor, name string) *task.Future[*File] {
	return withDefault(ex, "open", name, func(f *FS) *task.Future[*File] { return f.Open(name) })
}

// Create creates or truncates name on ex's shared FS.
func Create(ex task.Executor, name string) *task.Future[*File] {
	return withDefault(ex, "open", name, func(f *FS) *task.Future[*File] { return f.Create(name) })
}

// OpenFile is FS.OpenFile on ex's shared FS.
func OpenFile(ex task.Executor, name string, flag int, perm os.FileMode) *task.Future[*File] {
	return withDefault(ex, "open", name, func(f *FS) *task.Future[*File] { return f.OpenFile(name, flag, perm) })
}

// Stat is FS.Stat on ex's shared FS.
func Stat(ex task.Executor, name string) *task.Future[os.FileInfo] {
	return withDefault(ex, "stat", name, func(f *FS) *task.Future[os.FileInfo] { return f.Stat(name) })
}

// ReadFile is FS.ReadFile on ex's shared FS.
func ReadFile(ex task.Executor, name string) *task.Future[[]byte] {
	return withDefault(ex, "open", name, func(f *FS) *task.Future[[]byte] { return f.ReadFile(name) })
}

// WriteFile is FS.WriteFile on ex's shared FS.
func WriteFile(ex task.Executor, name string, data []byte, perm os.FileMode) *task.Future[struct{}] {
	return withDefault(ex, "open", name, func(f *FS) *task.Future[struct{}] { return f.WriteFile(name, data, perm) })
}
