// Package fs is weft's asynchronous file I/O: open, read, write, sync, stat and close
// return task futures instead of blocking a worker or a reactor loop.
//
// # Backends
//
// On Linux the default backend is io_uring (package fs/internal/uring, raw syscalls, no
// cgo), with one ring per reactor loop (Rings). Submissions from any goroutine are queued
// and batched: one io_uring_enter carries everything queued since the ring's flusher last
// ran. Reads the kernel finishes inside that syscall (page-cache hits) are reaped by the
// flusher at once. A ring whose flushes keep carrying one operation each (its submitter
// waits for every read before the next) stops handing reads of up to 64 KiB to the
// flusher: the submitter enters its own read on an idle ring and reaps it on the spot, so
// a lone page-cache read costs no thread hand-off either way; one such read in 128 still
// goes through the flusher, and when others queue behind it the ring batches again. Operations that finish later (device reads, pipes) signal an eventfd
// registered with the ring, and that eventfd is watched by a reactor loop
// (reactor.Loop.Watch), so one loop turn handles both socket readiness and file
// completions; the loop only completes futures, it never runs user code for them. Without
// a reactor (a bare *scheduler.Scheduler as executor, or WithoutReactor) each ring has a
// reaper goroutine parked on the same eventfd in Go's netpoller.
//
// A file that has seen a few reads or writes is registered with every ring (a fixed
// file): its later operations skip the kernel's per-operation fd lookup and reference
// count, an atomic on the file that cores reading one file at once would otherwise pass
// back and forth. File.Close empties the slots before the fd is closed.
//
// Where io_uring cannot be used (not Linux, ENOSYS, EPERM, kernel.io_uring_disabled set,
// opcodes missing) the same API runs on the scheduler's bounded blocking pool
// (scheduler.Blocking, the pool task.SpawnBlocking uses, with os.File). WithBackend
// forces either one. A blocking call cannot be withdrawn once it runs, so on the pool
// FS.Close waits for the running ones before it closes any file, and calls that have not
// started fail with ErrClosed.
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
