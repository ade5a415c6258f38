// Package fs is weft's asynchronous file I/O: open, read, write, sync, stat and close
// return task futures instead of blocking a worker or a reactor loop.
//
// # Backends
//
// On Linux the default backend is io_uring (package fs/internal/uring, raw syscalls, no
// cgo). Submissions from any goroutine are batched into one io_uring_enter; completions
// are signalled on an eventfd registered with the ring, and that eventfd is watched by one
// of the runtime's reactor loops (reactor.Loop.Watch), so a single loop turn handles both
// socket readiness and file completions and the futures are completed right there. Without
// a reactor (a bare *scheduler.Scheduler as executor, or WithoutReactor) the ring gets its
// own reaper goroutine, parked in Go's netpoller on the same eventfd.
//
// Where io_uring cannot be used (not Linux, ENOSYS, EPERM, kernel.io_uring_disabled set,
// opcodes missing) the same API runs on the scheduler's bounded blocking pool
// (task.SpawnBlocking with os.File). WithBackend forces either one.
//
// # Buffers
//
// A buffer passed to ReadAt, WriteAt, Read or Write belongs to the operation until its
// future completes: do not read, write or reuse it before then. The io_uring backend keeps
// the buffer referenced from its in-flight table until the kernel's completion arrives, so
// it is neither collected nor moved (Go's collector never moves heap objects, and the
// buffer escapes to the heap by being stored there). Cancelling through a context (the
// ...Context variants) submits IORING_OP_ASYNC_CANCEL; the future still completes only
// after the kernel has returned the operation, so a cancelled read never writes into a
// buffer the caller has already taken back.
//
// # Errors
//
// Errors are *os.PathError values wrapping the cause, so errors.Is works with the
// sentinels here (ErrNotExist and ErrClosed are those of io/fs, which os uses too).
package fs
