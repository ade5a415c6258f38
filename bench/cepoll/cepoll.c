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
 * on_readable. What it shares with curing.c (the response, the request count,
 * listen_on, the flags) is in plain.h. Build: gcc -O2 -o cepoll cepoll.c
 * (run.sh does it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plain.h"

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
	size_t total = have + (size_t)r, consumed;
	/* The pending bytes were searched already, when they arrived. */
	size_t n = count_requests(inbuf, total, have, &consumed);

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
	fill_responses(outbuf, n);
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
		set_nodelay(fd);
		conns = grow_zeroed(conns, &nconns, sizeof *conns, fd);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("epoll_ctl");
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:8080";
	for (int i = 1; i < argc; i++) {
		const char *name;
		size_t nl;
		const char *v = next_flag(argc, argv, &i, &name, &nl);
		if (!v || !flag_is(name, nl, "-addr")) {
			fprintf(stderr, "usage: cepoll [-addr host:port]\n");
			return 2;
		}
		addr = v;
	}
	/* A client that closes while its answer is being written must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_on("cepoll", addr);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl");
	conns = grow_zeroed(conns, &nconns, sizeof *conns, lfd);
	fprintf(stderr, "cepoll: listening on %s\n", addr);

	struct epoll_event evs[MAXEVENTS];
	for (;;) {
		int n = epoll_wait(epfd, evs, MAXEVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		refresh_date(); /* before any response of this batch is written */
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
