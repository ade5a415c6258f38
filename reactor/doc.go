// Package reactor is weft's lowest layer: epoll event loops, each a goroutine locked to
// an OS thread, that own their connections outright.
//
// A Group runs N loops. Group.Listen binds a listener whose acceptor goroutine shards
// accepted connections over the loops with a Balancer (RoundRobin, LeastConnections,
// SourceHash), or, with ReusePort(true), gives every loop its own SO_REUSEPORT listener.
// Each connection then lives on one loop: its Handler's OnOpen, OnData and OnClose run
// there, and Conn methods are called there without locks. Other goroutines reach a loop
// only through Loop.Submit (a lock-free MPSC inbox plus an eventfd) and Loop.AfterFunc.
//
// One turn of a loop: epoll_wait, with the nearest timer deadline as its timeout (zero when
// output or input is still pending; after a busy turn a raw non-blocking poll comes first,
// which keeps the loop's P when events are already waiting); for each ready connection,
// read until the socket is drained (EAGAIN, or a short read: see below) into its inbound
// buffer and call OnData; run pending reads left over from the last turn; run the inbox;
// fire due timers; then flush every connection that has output with a single write
// (writev when its output spans several chunks), and finish the closes that waited for
// their flush. Flushing last means writes made by inbox closures and timers leave in the
// same turn, and a handler that writes
// several responses in one OnData call (pipelining) pays one syscall for all of them.
//
// The loop goroutine never leaves the scheduler on its own (its reads and writes are raw
// syscalls), and a goroutine that has not been rescheduled for 10 ms makes the runtime's
// sysmon take its P at every blocking epoll_wait it catches, at its fastest tick: a thread
// wake-up and a P hand-off per wait, a fifth of the CPU of a lightly loaded loop with
// GOMAXPROCS=1. So, at most every 2 ms and only right before blocking, the loop yields
// once (runtime.Gosched).
//
// # Edge-triggered epoll
//
// Connections are registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET and, in the
// common case, never touched again: no epoll_ctl to arm EPOLLOUT when a write would block
// and none to disarm it when the queue drains, which level-triggered mode would need on
// every short write. The price of edge triggering is that a readable socket must be drained
// (the loop does that anyway, to batch) and that input left in the socket
// must be remembered by the loop itself: a connection that hits the per-turn read cap
// goes on a pending list served next turn, which keeps one fast sender from starving the
// rest. Reading is paused (high watermark, PauseRead) by removing EPOLLIN with one
// EPOLL_CTL_MOD; adding it back re-checks readiness, so bytes that arrived meanwhile are
// reported at once.
//
// Draining does not need the read that returns EAGAIN: a read that returns fewer bytes
// than the buffer had room for has emptied the receive queue of a stream socket, and
// every later arrival raises a new edge (the kernel signals epoll on each arrival after
// the event was collected). That saves one syscall per request. The peer's FIN is the
// exception: it comes with the edge of the data before it, flagged EPOLLRDHUP, and no
// edge follows it, so after RDHUP, HUP or ERR a connection is read until read returns 0
// or EAGAIN. Listening sockets and the wake-up eventfd are level-triggered, so a
// backlog or a wake-up left behind by a backoff is simply reported again.
//
// # Memory
//
// Inbound buffers come from a per-loop free list and go back whenever a connection's
// buffer is empty after a read; outbound bytes live in pooled chunks that go back once
// written. An idle keep-alive connection therefore holds only its Conn (a few hundred
// bytes) and no buffer. Outbound queues have a high watermark at which reading pauses and
// a low one at which it resumes (and OnWritable runs), bounding what one slow peer costs.
//
// # Accept errors
//
// EMFILE, ENFILE and similar accept errors never stop a listener: it waits with a capped
// exponential backoff (1 ms to ~128 ms), leaving pending connections in the kernel
// backlog, and serves them as soon as descriptors are free.
//
// A peer's EOF closes the connection once queued output is flushed (OnClose gets io.EOF),
// unless the handler implements ReadEOFHandler and keeps the connection open for writing.
//
// Only Linux is supported; elsewhere every constructor returns ErrUnsupported.
package reactor
