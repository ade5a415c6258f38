// Package uring is a small io_uring driver for weft's file I/O, written against the raw
// syscalls in golang.org/x/sys/unix (no liburing, no cgo).
//
// Two layers live here:
//
//   - Ring: the kernel object itself: io_uring_setup, the mmapped submission and
//     completion rings and the SQE array, io_uring_enter and io_uring_register. A Ring is
//     not safe for concurrent use; Engine serialises access to it.
//   - Engine: what the rest of weft talks to. Any goroutine may submit; submissions are
//     batched (one io_uring_enter per batch, by whichever submitter finds no flush under
//     way); completions are reaped by one consumer at a time and handed to a Completion.
//
// # Memory ordering
//
// The kernel reads the SQ tail with an acquire load and publishes the CQ tail with a
// release store, and expects the mirror image from user space. Go's sync/atomic
// operations are sequentially consistent (a release store and an acquire load at least),
// so: SQEs are written with plain stores and then the SQ tail is published with
// atomic.StoreUint32; the CQ tail is read with atomic.LoadUint32 before any CQE is read,
// and the CQ head is advanced with atomic.StoreUint32 only after the CQEs were copied
// out. The SQ head and CQ tail, which the kernel writes, are only ever read atomically.
//
// # Buffers stay put until their completion
//
// An SQE carries the address of a Go buffer as a plain integer, which the garbage
// collector does not see. The Engine therefore keeps the buffer (and any other memory the
// kernel will touch: the NUL-terminated path of an openat, the statx result) referenced
// from its in-flight table, a heap object, from submission until the CQE for that
// operation has been reaped. That reference keeps the memory alive, and because storing
// the slice in a heap object makes it escape, the compiler never places such a buffer on
// a goroutine stack (the only memory Go ever moves): heap objects are not moved by Go's
// collector. The caller must also not reuse the buffer before the completion runs.
//
// Cancellation never releases a buffer early: Cancel submits IORING_OP_ASYNC_CANCEL for
// the target, and the target's slot (and so its buffer) is released only when the
// target's own CQE arrives, whether it reports -ECANCELED or a result that won the race.
// Close cancels everything still in flight and waits for every CQE before it unmaps the
// rings, so the kernel never writes into memory Go has reclaimed.
package uring
