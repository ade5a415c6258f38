/*
 * plain.h: what the two C plaintext contestants of bench/run.sh share, so
 * that they answer alike and differ only in how they talk to the kernel
 * (cepoll.c: epoll, read and write; curing.c: io_uring). Both include it:
 * the canned response and its Date, the request count ("\r\n\r\n"), the
 * listening socket, the flag syntax, die(). Each server is still built from
 * its one .c file (gcc ... cepoll/cepoll.c finds this header beside it), so
 * everything here is static. Include it after defining _GNU_SOURCE (memmem).
 */
#ifndef PLAIN_H
#define PLAIN_H

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BODY "Hello, World!"

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
 * Each server calls it once per loop turn, before any response of the turn is
 * written or queued, so the Date is never older than the second the batch is
 * answered in. time() is a vDSO call, no system call: a timerfd would cost a
 * read every second and a stale Date while idle, for no gain.
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

/* Writes n responses back to back at o, which has room for n * resplen bytes. */
static void fill_responses(char *o, size_t n)
{
	for (size_t i = 0; i < n; i++, o += resplen)
		memcpy(o, resp, resplen);
}

/*
 * Counts requests as gnet's contestant does: each "\r\n\r\n" in buf[0:len]
 * ends one, and *consumed is set to the end of the last (0 if none). The first
 * `searched` bytes, an incomplete request kept from earlier reads, were
 * searched already, so the search resumes 3 bytes before their end, in case
 * the terminator straddles the two reads.
 */
static size_t count_requests(const char *buf, size_t len, size_t searched, size_t *consumed)
{
	size_t scan = searched > 3 ? searched - 3 : 0, n = 0;
	*consumed = 0;
	for (;;) {
		const char *e = memmem(buf + scan, len - scan, "\r\n\r\n", 4);
		if (!e)
			break;
		*consumed = (size_t)(e - buf) + 4;
		scan = *consumed;
		n++;
	}
	return n;
}

/*
 * Returns tab (*n entries of size bytes, indexed by fd) grown so that index
 * fd fits, the new entries zeroed; it doubles from 1024, so a table follows
 * the highest fd, and dies when memory runs out.
 */
static void *grow_zeroed(void *tab, size_t *n, size_t size, int fd)
{
	if ((size_t)fd < *n)
		return tab;
	size_t m = *n ? *n : 1024;
	while (m <= (size_t)fd)
		m *= 2;
	char *t = realloc(tab, m * size);
	if (!t)
		die("realloc");
	memset(t + *n * size, 0, (m - *n) * size);
	*n = m;
	return t;
}

/* As the Go servers do: Go sets TCP_NODELAY on every accepted socket. */
static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*
 * Parses "host:port" ("[v6]:port" too; an empty host is any address) and
 * returns a non-blocking listening socket on it. A bad address is reported
 * as "prog: -addr ...", exit status 2.
 */
static int listen_on(const char *prog, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		fprintf(stderr, "%s: -addr %s: want host:port\n", prog, addr);
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
		fprintf(stderr, "%s: -addr %s: host too long\n", prog, addr);
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
		fprintf(stderr, "%s: -addr %s: %s\n", prog, addr, gai_strerror(rc));
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

/*
 * Reads the flag at argv[*i] the way Go's flag package writes them:
 * "-name value" or "-name=value", with one dash or two. It sets *name to the
 * name with one dash and *namelen to its length, moves *i past a value taken
 * from the next argument, and returns the value, or NULL when there is none.
 */
static const char *next_flag(int argc, char **argv, int *i, const char **name, size_t *namelen)
{
	const char *a = argv[*i];
	if (a[0] == '-' && a[1] == '-')
		a++;
	size_t kl = strcspn(a, "=");
	*name = a;
	*namelen = kl;
	if (a[kl] == '=')
		return a + kl + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* Whether the name next_flag found is want ("-addr"). */
static int flag_is(const char *name, size_t namelen, const char *want)
{
	return namelen == strlen(want) && memcmp(name, want, namelen) == 0;
}

#endif
