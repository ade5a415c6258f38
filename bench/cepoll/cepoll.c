/*
 * cepoll: the reference point issue 6 names, "a C epoll server", as a
 * contestant of bench/run.sh. It shows, in the same run as the Go servers,
 * what one core of this machine needs per request when nothing but the
 * kernel's TCP path and a minimal loop stands between wrk and the answer.
 *
 * It is the same non-server as the gnet contestant (bench/server/gnet.go): it
 * does not parse HTTP. Every "\r\n\r\n" ends a request, and each request gets
 * the same canned response (Server: bench, Content-Type: text/plain,
 * Content-Length: 13, Date refreshed once a second, body "Hello, World!"); a
 * batch of pipelined requests is answered with one write.
 *
 *   cepoll -addr 127.0.0.1:18080      # serves until killed
 *
 * Single thread, one epoll instance, level-triggered, for the reason given at
 * on_readable. Build: gcc -O2 -o cepoll cepoll.c (run.sh does it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY "Hello, World!"
#define INBUF (64 * 1024)
#define MAXEVENTS 512

/*
 * Per-connection state, in a table indexed by fd. Reads land in one shared
 * buffer (inbuf): a connection keeps bytes of its own only while a request is
 * incomplete (pend) or a response could not be written whole (out). An idle
 * keep-alive connection then costs this struct and nothing else, which keeps
 * the idle-RSS test fair to a server that holds no buffers while idle.
 */
struct conn {
	char *pend;          /* start of an incomplete request */
	size_t plen, pcap;
	char *out;           /* unwritten tail of a response batch */
	size_t olen, ooff;
};

static struct conn *conns;
static size_t nconns;
static int epfd;

static char inbuf[INBUF];
static char *outbuf;
static size_t outcap;

/* The canned response, rebuilt when the second changes. */
static char resp[256];
static size_t resplen;
static time_t respsec = -1;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/*
 * Called once per epoll_wait return, before any response is written, so the
 * Date is never older than the second the batch is answered in. time() is a
 * vDSO call, no system call: a timerfd would cost a read every second and a
 * stale Date while idle, for no gain.
 */
static void refresh_date(void)
{
	time_t now = time(NULL);
	if (now == respsec)
		return;
	struct tm tm;
	char date[64];
	gmtime_r(&now, &tm);
	/* The C locale (never changed here) gives the English names HTTP wants. */
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(resp, sizeof resp,
	                 "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\n"
	                 "Content-Length: %zu\r\nDate: %s\r\n\r\n" BODY,
	                 sizeof BODY - 1, date);
	if (n < 0 || (size_t)n >= sizeof resp)
		die("response too long");
	resplen = (size_t)n;
	respsec = now;
}

static void grow_table(int fd)
{
	if ((size_t)fd < nconns)
		return;
	size_t n = nconns ? nconns : 1024;
	while (n <= (size_t)fd)
		n *= 2;
	struct conn *t = realloc(conns, n * sizeof *t);
	if (!t)
		die("realloc");
	memset(t + nconns, 0, (n - nconns) * sizeof *t);
	conns = t;
	nconns = n;
}

static void close_conn(int fd)
{
	struct conn *c = &conns[fd];
	free(c->pend);
	free(c->out);
	memset(c, 0, sizeof *c);
	close(fd); /* also leaves the epoll set: the fd is never dup'ed */
}

static void set_events(int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		close_conn(fd);
}

/*
 * Writes what is left of a connection's response batch; when it is all out,
 * the connection goes back to reading. While output is pending it is not
 * read at all, so a client that does not read its answers cannot make the
 * server buffer without bound.
 */
static void flush_out(int fd)
{
	struct conn *c = &conns[fd];
	while (c->ooff < c->olen) {
		ssize_t w = write(fd, c->out + c->ooff, c->olen - c->ooff);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_conn(fd);
			return;
		}
		c->ooff += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	c->olen = c->ooff = 0;
	set_events(fd, EPOLLIN);
}

static void send_batch(int fd, const char *p, size_t len)
{
	ssize_t w;
	do
		w = write(fd, p, len);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (errno != EAGAIN) {
			close_conn(fd);
			return;
		}
		w = 0;
	}
	if ((size_t)w == len)
		return;
	/* Short write: keep the rest and wait for room. Rare with these loads. */
	struct conn *c = &conns[fd];
	c->olen = len - (size_t)w;
	c->ooff = 0;
	c->out = malloc(c->olen);
	if (!c->out) {
		close_conn(fd);
		return;
	}
	memcpy(c->out, p + w, c->olen);
	set_events(fd, EPOLLOUT);
}

/*
 * Level-triggered: one read per readiness event is enough. If the read did
 * not take everything, epoll reports the socket again on the next turn, so
 * there is no need to read until EAGAIN, which would cost a second read(2)
 * per request in the plain test (the one that returns EAGAIN). Edge-triggered
 * could stop after a short read too, but level-triggered is also what gnet
 * uses by default and is correct without such reasoning; its price, one
 * re-poll of the socket in the next epoll_wait, stays inside the kernel.
 */
static void on_readable(int fd)
{
	struct conn *c = &conns[fd];
	size_t have = c->plen;
	if (have)
		memcpy(inbuf, c->pend, have);
	ssize_t r;
	do
		r = read(fd, inbuf + have, INBUF - have);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return; /* pend still holds the partial request */
		close_conn(fd); /* EOF or error */
		return;
	}
	size_t total = have + (size_t)r;

	/*
	 * Count requests as gnet's contestant does: each "\r\n\r\n" ends one. The
	 * pending bytes were searched already, so the search resumes 3 bytes
	 * before their end, in case the terminator straddles the two reads.
	 */
	size_t scan = have > 3 ? have - 3 : 0, consumed = 0, n = 0;
	for (;;) {
		char *e = memmem(inbuf + scan, total - scan, "\r\n\r\n", 4);
		if (!e)
			break;
		consumed = (size_t)(e - inbuf) + 4;
		scan = consumed;
		n++;
	}

	size_t left = total - consumed;
	if (left == INBUF) {
		close_conn(fd); /* a header block larger than the buffer */
		return;
	}
	if (left) {
		if (c->pcap < left) {
			char *p = realloc(c->pend, left);
			if (!p) {
				close_conn(fd);
				return;
			}
			c->pend = p;
			c->pcap = left;
		}
		memmove(c->pend, inbuf + consumed, left);
	}
	c->plen = left;
	if (n == 0)
		return; /* partial request: wait for the rest */

	if (n == 1) {
		send_batch(fd, resp, resplen);
		return;
	}
	/* One write for the whole pipelined batch, as gnet's contestant does. */
	size_t len = n * resplen;
	if (outcap < len) {
		char *p = realloc(outbuf, len);
		if (!p)
			die("realloc");
		outbuf = p;
		outcap = len;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(outbuf + i * resplen, resp, resplen);
	send_batch(fd, outbuf, len);
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				perror("accept4"); /* EMFILE and the like: retried next turn */
			return;
		}
		int one = 1;
		/* As the Go servers do: Go sets TCP_NODELAY on every accepted socket. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		grow_table(fd);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("epoll_ctl");
			close(fd);
		}
	}
}

/* listen_on parses "host:port" ("[v6]:port" too; an empty host is any address). */
static int listen_on(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		fprintf(stderr, "cepoll: -addr %s: want host:port\n", addr);
		exit(2);
	}
	char host[256];
	size_t hl = (size_t)(colon - addr);
	const char *h = addr;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host) {
		fprintf(stderr, "cepoll: -addr %s: host too long\n", addr);
		exit(2);
	}
	memcpy(host, h, hl);
	host[hl] = 0;

	struct addrinfo hints = {0}, *ai;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "cepoll: -addr %s: %s\n", addr, gai_strerror(rc));
		exit(2);
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	/* The Go servers all set SO_REUSEADDR, so back-to-back runs reuse the port. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		die("setsockopt SO_REUSEADDR");
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind");
	freeaddrinfo(ai);
	/* The kernel caps the backlog at net.core.somaxconn, which is what Go asks for. */
	if (listen(fd, 65535) < 0)
		die("listen");
	return fd;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:8080";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++; /* -addr and --addr, as Go's flag package takes both */
		if (strcmp(a, "-addr") == 0 && i + 1 < argc) {
			addr = argv[++i];
		} else if (strncmp(a, "-addr=", 6) == 0) {
			addr = a + 6;
		} else {
			fprintf(stderr, "usage: cepoll [-addr host:port]\n");
			return 2;
		}
	}
	/* A client that closes while its answer is being written must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_on(addr);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl");
	grow_table(lfd);
	fprintf(stderr, "cepoll: listening on %s\n", addr);

	struct epoll_event evs[MAXEVENTS];
	for (;;) {
		int n = epoll_wait(epfd, evs, MAXEVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		refresh_date();
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd)
				accept_all(lfd);
			else if (conns[fd].olen)
				flush_out(fd); /* only EPOLLOUT (or an error) is armed */
			else
				on_readable(fd); /* EPOLLIN, or HUP/ERR, which read reports */
		}
	}
}
