/*
 * curing: c-epoll's twin on io_uring, a second contestant of bench/run.sh.
 * It asks whether the kernel floor c-epoll measures (one read, one write and
 * a share of an epoll_wait per request) drops when the system calls go: here
 * a loop turn is one io_uring_enter, which submits every pending send and
 * then runs, in this task, the receives the sockets became ready for since
 * the last turn (multishot recv into a registered ring of provided buffers).
 *
 * It is the same non-server as cepoll.c and the gnet contestant: it does not
 * parse HTTP. Every "\r\n\r\n" ends a request, each request gets the same
 * canned response (Date refreshed once a second), and the responses a turn
 * owes one connection go out in one send. The parts it shares with cepoll.c
 * (the response, the request count, listen_on, the flags) are in plain.h.
 *
 *   curing -addr 127.0.0.1:18080                 # serves until killed
 *   curing -addr 127.0.0.1:18080 -batch 64 -wait 200
 *
 * -batch N -wait US is deliberate coalescing, traded for latency: a turn
 * waits until N completions are due or US microseconds have passed with at
 * least one (IORING_ENTER_EXT_ARG min_wait, Linux 6.12), so the server is
 * woken once per batch instead of once per arrival. Without it each turn
 * waits for one completion, as c-epoll's epoll_wait waits for one event.
 *
 * Raw system calls, no liburing. Needs Linux 6.1 (DEFER_TASKRUN), 6.12 for
 * -wait. Build: gcc -O2 -o curing curing.c (run.sh does it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plain.h"

/* Newer than this machine's <linux/io_uring.h> (6.1), known to its kernel. */
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 16384
#define BGID 0
/*
 * Provided receive buffers: 512 x 4 KiB, one 2 MiB region (a huge page when
 * THP allows, so cycling through all of them costs one TLB entry). 4 KiB
 * holds wrk's 16-request pipelined batch (~2.9 KB) in one completion.
 */
#define NBUFS 512
#define BUFSZ 4096
#define MAXPEND (64 * 1024) /* an incomplete request larger than this closes */
#define QMAX (256 * 1024)   /* queued output above which reading pauses */
#define OBUF 4096           /* size of the pooled output buffers */
#define OPOOL 1024          /* at most this many kept for reuse */

enum { T_ACCEPT = 1, T_RECV, T_SEND, T_CANCEL };
#define UD(t, fd) (((uint64_t)(t) << 32) | (uint32_t)(fd))

enum {
	C_OPEN = 1,     /* slot in use */
	C_RECV = 2,     /* a multishot recv is armed */
	C_SEND = 4,     /* a send is in flight */
	C_PAUSED = 8,   /* recv cancelled until the queued output drains */
	C_CLOSING = 16, /* close once neither recv nor send is in flight */
	C_DIRTY = 32,   /* on the dirty list: has output to send this turn */
	C_SHUT = 64,    /* shutdown(2) done to end the in-flight operations */
	C_FIXED = 128,  /* also in the ring's file table, at index fd */
};

struct obuf {
	char *p;
	uint32_t len, cap;
};

/*
 * Per-connection state, indexed by fd. As in cepoll.c, a connection holds
 * bytes only while a request is incomplete (pend) or output is queued (q) or
 * in flight (s): received data lands in the shared provided buffers, and
 * output buffers come from a pool, so an idle connection costs this struct.
 * Output is two buffers because a send's bytes must stay put until its
 * completion, while the next turn's responses accumulate behind it; one send
 * per connection at a time keeps them in order.
 */
struct conn {
	char *pend;
	uint32_t plen, pcap;
	struct obuf q; /* responses not yet submitted */
	struct obuf s; /* the send in flight */
	uint32_t soff; /* bytes of s the kernel has taken */
	uint32_t flags;
};

static struct conn *conns;
static size_t nconns;

/* The ring. */
static int ringfd, enterfd;
static unsigned enterflags;
static unsigned *sq_head, *sq_tail, sq_mask;
static struct io_uring_sqe *sqes;
static unsigned sq_local, sq_submitted;
static unsigned *cq_head, *cq_tail, cq_mask;
static struct io_uring_cqe *cqes;

/* The provided-buffer ring. */
static struct io_uring_buf_ring *br;
static char *bufbase;
static uint16_t br_tail;

/*
 * Registered files: a send names its socket by index and the kernel skips
 * the file lookup and reference count it does per request for a plain fd.
 * Slot fd holds fd (one register call at accept and at close), so the fd
 * stays the name for shutdown, close and the connection table.
 */
static unsigned nfixed;

static int *dirty;
static size_t ndirty, dirtycap;

static char *opool[OPOOL];
static size_t nopool;

static void die_errno(const char *what, int err)
{
	errno = err;
	die(what);
}

static int enter(unsigned submit, unsigned wait, unsigned flags, void *arg, size_t argsz)
{
	return (int)syscall(__NR_io_uring_enter, enterfd, submit, wait, flags | enterflags, arg, argsz);
}

/* Publishes the SQEs written so far and hands them to the kernel without waiting. */
static void submit_now(void)
{
	__atomic_store_n(sq_tail, sq_local, __ATOMIC_RELEASE);
	unsigned n = sq_local - sq_submitted;
	while (n) {
		int r = enter(n, 0, 0, NULL, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EBUSY)
				continue;
			die("io_uring_enter");
		}
		sq_submitted += (unsigned)r;
		n -= (unsigned)r;
	}
}

static struct io_uring_sqe *get_sqe(void)
{
	if (sq_local - __atomic_load_n(sq_head, __ATOMIC_ACQUIRE) >= SQ_ENTRIES)
		submit_now(); /* a full SQ: rare, only with thousands of events in one turn */
	struct io_uring_sqe *sqe = &sqes[sq_local & sq_mask];
	memset(sqe, 0, sizeof *sqe);
	sq_local++;
	return sqe;
}

static void arm_recv(int fd)
{
	struct io_uring_sqe *sqe = get_sqe();
	sqe->opcode = IORING_OP_RECV;
	sqe->fd = fd;
	sqe->ioprio = IORING_RECV_MULTISHOT;
	sqe->flags = IOSQE_BUFFER_SELECT | (conns[fd].flags & C_FIXED ? IOSQE_FIXED_FILE : 0);
	sqe->buf_group = BGID;
	sqe->user_data = UD(T_RECV, fd);
	conns[fd].flags |= C_RECV;
}

static void arm_accept(int lfd)
{
	struct io_uring_sqe *sqe = get_sqe();
	sqe->opcode = IORING_OP_ACCEPT;
	sqe->fd = lfd;
	sqe->ioprio = IORING_ACCEPT_MULTISHOT;
	sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
	sqe->user_data = UD(T_ACCEPT, lfd);
}

/*
 * MSG_WAITALL makes the kernel finish a short send itself (it waits for room
 * and sends the rest), so the completion normally carries the whole length;
 * on_send still resubmits a remainder if one ever comes back short.
 */
static void submit_send(int fd)
{
	struct conn *c = &conns[fd];
	struct io_uring_sqe *sqe = get_sqe();
	sqe->opcode = IORING_OP_SEND;
	sqe->fd = fd;
	sqe->flags = c->flags & C_FIXED ? IOSQE_FIXED_FILE : 0;
	sqe->addr = (uint64_t)(uintptr_t)(c->s.p + c->soff);
	sqe->len = c->s.len - c->soff;
	sqe->msg_flags = MSG_NOSIGNAL | MSG_WAITALL;
	sqe->user_data = UD(T_SEND, fd);
	c->flags |= C_SEND;
}

static void cancel_recv(int fd)
{
	struct io_uring_sqe *sqe = get_sqe();
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->addr = UD(T_RECV, fd);
	sqe->user_data = UD(T_CANCEL, fd);
}

static void recycle_buf(uint16_t bid)
{
	struct io_uring_buf *b = &br->bufs[br_tail & (NBUFS - 1)];
	/* Not b->resv: in slot 0 it is the ring's tail. */
	b->addr = (uint64_t)(uintptr_t)(bufbase + (size_t)bid * BUFSZ);
	b->len = BUFSZ;
	b->bid = bid;
	br_tail++;
}

static void obuf_release(struct obuf *b)
{
	if (!b->p)
		return;
	if (b->cap == OBUF && nopool < OPOOL)
		opool[nopool++] = b->p;
	else
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int obuf_reserve(struct obuf *b, size_t add)
{
	size_t need = b->len + add;
	if (need > UINT32_MAX)
		return -1;
	if (!b->p && need <= OBUF) {
		b->p = nopool ? opool[--nopool] : malloc(OBUF);
		if (!b->p)
			return -1;
		b->cap = OBUF;
		return 0;
	}
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : OBUF;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = (uint32_t)cap;
	return 0;
}

static void mark_dirty(int fd)
{
	struct conn *c = &conns[fd];
	if (c->flags & C_DIRTY)
		return;
	if (ndirty == dirtycap) {
		size_t n = dirtycap ? dirtycap * 2 : 1024;
		int *d = realloc(dirty, n * sizeof *d);
		if (!d)
			die("realloc");
		dirty = d;
		dirtycap = n;
	}
	dirty[ndirty++] = fd;
	c->flags |= C_DIRTY;
}

static int set_fixed(int slot, int fd)
{
	struct io_uring_rsrc_update2 up = {.offset = (uint32_t)slot, .data = (uint64_t)(uintptr_t)&fd, .nr = 1};
	return syscall(__NR_io_uring_register, ringfd, IORING_REGISTER_FILES_UPDATE2, &up, sizeof up) == 1 ? 0 : -1;
}

/* The fd is closed only when no operation on it can still complete, so a
 * later connection that gets the same number never sees a stale completion. */
static void maybe_close(int fd)
{
	struct conn *c = &conns[fd];
	if (!(c->flags & C_CLOSING) || (c->flags & (C_RECV | C_SEND)))
		return;
	if (c->flags & C_FIXED)
		set_fixed(fd, -1);
	free(c->pend);
	obuf_release(&c->q);
	obuf_release(&c->s);
	memset(c, 0, sizeof *c);
	close(fd);
}

/*
 * An armed recv or a send that waits for room holds the socket; shutdown
 * makes both complete (end of file, EPIPE), and maybe_close finishes there.
 */
static void begin_close(int fd)
{
	struct conn *c = &conns[fd];
	if (!(c->flags & C_CLOSING)) {
		c->flags |= C_CLOSING;
		free(c->pend);
		c->pend = NULL;
		c->plen = c->pcap = 0;
		obuf_release(&c->q);
	}
	if ((c->flags & (C_RECV | C_SEND)) && !(c->flags & C_SHUT)) {
		c->flags |= C_SHUT;
		shutdown(fd, SHUT_RDWR);
	}
	maybe_close(fd);
}

static void on_data(int fd, const char *data, size_t len)
{
	struct conn *c = &conns[fd];
	if (c->flags & C_CLOSING)
		return;
	const char *buf = data;
	size_t total = len, searched = 0;
	if (c->plen) {
		size_t need = (size_t)c->plen + len;
		if (need > MAXPEND) {
			begin_close(fd);
			return;
		}
		if (c->pcap < need) {
			char *p = realloc(c->pend, need);
			if (!p) {
				begin_close(fd);
				return;
			}
			c->pend = p;
			c->pcap = (uint32_t)need;
		}
		memcpy(c->pend + c->plen, data, len);
		searched = c->plen; /* when they arrived */
		buf = c->pend;
		total = need;
	}
	size_t consumed, n = count_requests(buf, total, searched, &consumed);
	size_t left = total - consumed;
	if (left >= MAXPEND) {
		begin_close(fd);
		return;
	}
	if (left) {
		if (c->pcap < left) {
			char *p = realloc(c->pend, left);
			if (!p) {
				begin_close(fd);
				return;
			}
			c->pend = p; /* only when buf is data: pend already holds total */
			c->pcap = (uint32_t)left;
		}
		memmove(c->pend, buf + consumed, left);
	}
	c->plen = (uint32_t)left;
	if (n == 0)
		return;

	if (obuf_reserve(&c->q, n * resplen) < 0) {
		begin_close(fd);
		return;
	}
	fill_responses(c->q.p + c->q.len, n);
	c->q.len += (uint32_t)(n * resplen);
	mark_dirty(fd);
	/*
	 * A client that sends faster than it reads: stop reading while a send
	 * waits for room and a lot is queued behind it (cepoll stops reading
	 * while any output is pending; here one send in flight is the normal
	 * state within a turn, so the limit is on the queue behind it).
	 */
	if ((c->flags & C_SEND) && c->q.len > QMAX && (c->flags & C_RECV) && !(c->flags & C_PAUSED)) {
		c->flags |= C_PAUSED;
		cancel_recv(fd);
	}
}

static void on_recv(int fd, int res, unsigned flags)
{
	struct conn *c = &conns[fd];
	if (flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
		if (res > 0)
			on_data(fd, bufbase + (size_t)bid * BUFSZ, (size_t)res);
		recycle_buf(bid);
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	/* The multishot recv has ended. */
	c->flags &= ~C_RECV;
	if (res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED)) {
		begin_close(fd); /* end of file or an error */
		return;
	}
	if (c->flags & C_CLOSING)
		maybe_close(fd);
	else if (!(c->flags & C_PAUSED))
		arm_recv(fd); /* ran out of provided buffers, or a stray cancel */
}

static void on_send(int fd, int res)
{
	struct conn *c = &conns[fd];
	c->flags &= ~C_SEND;
	if (res < 0) {
		obuf_release(&c->s);
		begin_close(fd);
		return;
	}
	c->soff += (uint32_t)res;
	if (c->soff < c->s.len && res > 0 && !(c->flags & C_CLOSING)) {
		submit_send(fd); /* short: the rest, before anything queued */
		return;
	}
	int whole = c->soff >= c->s.len;
	obuf_release(&c->s);
	c->soff = 0;
	if (!whole || (c->flags & C_CLOSING)) {
		begin_close(fd);
		return;
	}
	if (c->q.len)
		mark_dirty(fd);
	if (c->flags & C_PAUSED) {
		c->flags &= ~C_PAUSED;
		if (!(c->flags & C_RECV))
			arm_recv(fd);
	}
}

static void on_accept(int lfd, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		arm_accept(lfd);
	if (res < 0) {
		if (res != -ECONNABORTED && res != -EINTR)
			fprintf(stderr, "curing: accept: %s\n", strerror(-res));
		return;
	}
	int fd = res;
	set_nodelay(fd);
	conns = grow_zeroed(conns, &nconns, sizeof *conns, fd);
	conns[fd].flags = C_OPEN;
	if ((unsigned)fd < nfixed && set_fixed(fd, fd) == 0)
		conns[fd].flags |= C_FIXED;
	arm_recv(fd);
}

/* One send per connection with output, each turn, behind any still in flight. */
static void flush_dirty(void)
{
	for (size_t i = 0; i < ndirty; i++) {
		int fd = dirty[i];
		struct conn *c = &conns[fd];
		c->flags &= ~C_DIRTY;
		if ((c->flags & (C_SEND | C_CLOSING)) || !c->q.len)
			continue;
		c->s = c->q;
		c->q = (struct obuf){0};
		c->soff = 0;
		submit_send(fd);
	}
	ndirty = 0;
}

static void setup_ring(void)
{
	struct io_uring_params p = {0};
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN |
	          IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = CQ_ENTRIES;
	ringfd = (int)syscall(__NR_io_uring_setup, SQ_ENTRIES, &p);
	if (ringfd < 0)
		die("io_uring_setup");
	if (!(p.features & IORING_FEAT_SINGLE_MMAP))
		die_errno("io_uring: no IORING_FEAT_SINGLE_MMAP", ENOSYS);
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t sz = sqsz > cqsz ? sqsz : cqsz;
	char *ring = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringfd, IORING_OFF_SQ_RING);
	if (ring == MAP_FAILED)
		die("mmap ring");
	sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringfd,
	            IORING_OFF_SQES);
	if (sqes == MAP_FAILED)
		die("mmap sqes");
	sq_head = (unsigned *)(ring + p.sq_off.head);
	sq_tail = (unsigned *)(ring + p.sq_off.tail);
	sq_mask = *(unsigned *)(ring + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(ring + p.sq_off.array);
	for (unsigned i = 0; i < p.sq_entries; i++)
		array[i] = i; /* SQE i always sits in slot i */
	cq_head = (unsigned *)(ring + p.cq_off.head);
	cq_tail = (unsigned *)(ring + p.cq_off.tail);
	cq_mask = *(unsigned *)(ring + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
	sq_local = sq_submitted = *sq_tail;

	/* A registered ring fd spares io_uring_enter its file lookup. */
	struct io_uring_rsrc_update up = {.offset = -1U, .data = (uint64_t)ringfd};
	enterfd = ringfd;
	if (syscall(__NR_io_uring_register, ringfd, IORING_REGISTER_RING_FDS, &up, 1) == 1) {
		enterfd = (int)up.offset;
		enterflags = IORING_ENTER_REGISTERED_RING;
	}

	/* A sparse table as large as the fd limit allows, up to 64 Ki slots. */
	struct rlimit rl;
	nfixed = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nfixed)
		nfixed = (unsigned)rl.rlim_cur;
	struct io_uring_rsrc_register files = {.nr = nfixed, .flags = IORING_RSRC_REGISTER_SPARSE};
	if (syscall(__NR_io_uring_register, ringfd, IORING_REGISTER_FILES2, &files, sizeof files) < 0)
		nfixed = 0; /* plain fds then */

	size_t brsz = NBUFS * sizeof(struct io_uring_buf);
	br = mmap(NULL, brsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED)
		die("mmap buf ring");
	size_t bsz = (size_t)NBUFS * BUFSZ, align = 2u << 20;
	char *raw = mmap(NULL, bsz + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap buffers");
	bufbase = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	madvise(bufbase, bsz, MADV_HUGEPAGE); /* best effort */
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = NBUFS, .bgid = BGID};
	if (syscall(__NR_io_uring_register, ringfd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
		die("IORING_REGISTER_PBUF_RING");
	for (unsigned i = 0; i < NBUFS; i++)
		recycle_buf((uint16_t)i);
	__atomic_store_n(&br->tail, br_tail, __ATOMIC_RELEASE);
}

static int listenfd = -1;

/*
 * Killed (run.sh stops each server with SIGTERM): the ring is torn down after
 * exit, asynchronously, and until then its multishot accept keeps the
 * listening socket alive, so the next server's bind would fail. Shutting the
 * listener down first takes it out of LISTEN at once.
 */
static void on_term(int sig)
{
	(void)sig;
	if (listenfd >= 0)
		shutdown(listenfd, SHUT_RDWR);
	_exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: curing [-addr host:port] [-batch N -wait USEC]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:8080";
	long batch = 1, waitus = 0;
	for (int i = 1; i < argc; i++) {
		const char *name;
		size_t nl;
		const char *v = next_flag(argc, argv, &i, &name, &nl);
		if (!v)
			usage();
		if (flag_is(name, nl, "-addr"))
			addr = v;
		else if (flag_is(name, nl, "-batch"))
			batch = strtol(v, NULL, 10);
		else if (flag_is(name, nl, "-wait"))
			waitus = strtol(v, NULL, 10);
		else
			usage();
	}
	if (batch < 1 || batch > 4096 || waitus < 0 || (batch > 1 && waitus == 0))
		usage();
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_on("curing", addr);
	listenfd = lfd;
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setup_ring();
	conns = grow_zeroed(conns, &nconns, sizeof *conns, lfd);
	arm_accept(lfd);

	struct io_uring_getevents_arg ext = {0};
	if (batch > 1) {
		ext.sigmask_sz = _NSIG / 8;
		ext.pad = (uint32_t)waitus; /* min_wait_usec since 6.12 */
		ext.ts = 0;                 /* no overall timeout: an idle server sleeps */
		fprintf(stderr, "curing: listening on %s (coalescing: up to %ld completions or %ld us)\n", addr,
		        batch, waitus);
	} else {
		fprintf(stderr, "curing: listening on %s\n", addr);
	}

	for (;;) {
		__atomic_store_n(&br->tail, br_tail, __ATOMIC_RELEASE);
		__atomic_store_n(sq_tail, sq_local, __ATOMIC_RELEASE);
		unsigned n = sq_local - sq_submitted;
		int r = batch > 1 ? enter(n, (unsigned)batch, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &ext, sizeof ext)
		                  : enter(n, 1, IORING_ENTER_GETEVENTS, NULL, 0);
		if (r < 0) {
			if (errno != EINTR && errno != ETIME && errno != EAGAIN && errno != EBUSY)
				die("io_uring_enter");
		} else {
			sq_submitted += (unsigned)r;
		}
		refresh_date(); /* before any response of this turn is queued */

		unsigned head = *cq_head, tail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++) {
			struct io_uring_cqe *cqe = &cqes[head & cq_mask];
			int fd = (int)(uint32_t)cqe->user_data;
			switch ((int)(cqe->user_data >> 32)) {
			case T_RECV:
				on_recv(fd, cqe->res, cqe->flags);
				break;
			case T_SEND:
				on_send(fd, cqe->res);
				break;
			case T_ACCEPT:
				on_accept(fd, cqe->res, cqe->flags);
				break;
			default: /* T_CANCEL: the recv's own completion says what happened */
				break;
			}
		}
		__atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
		flush_dirty();
	}
}
