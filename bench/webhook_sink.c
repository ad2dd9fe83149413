/*
 * webhook_sink.c
 *		A fast webhook receiver for bench/webhooks.sh: single-threaded epoll,
 *		HTTP/1.1 keep-alive, plain or TLS 1.3 (OpenSSL), answers every
 *		request 200 "ok".
 *
 * For each request it writes one line "recv t n hash": the receive time,
 * the "t" and "n" fields of the body (the emit time and the sequence number
 * the benchmark put there, 0 when absent) and the FNV-1a hash of the body in
 * hex, so the script can compute commit-to-receipt latency, count distinct
 * requests received, and check that two senders sent the same bodies.
 * Stops on SIGTERM.
 *
 * Usage: webhook_sink PORT_FILE OUT_FILE [CERT_FILE KEY_FILE]
 * With a certificate and key it speaks TLS 1.3 only, without ALPN (so
 * HTTP/1.1, as the plain variant).
 *
 * Build: cc -O2 -o webhook_sink bench/webhook_sink.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUF_SIZE (64 * 1024)

typedef struct Conn
{
	int			fd;
	SSL		   *ssl;			/* NULL on the plain variant */
	size_t		len;
	size_t		out_len;		/* reply bytes not yet written */
	int			watching_out;	/* EPOLLOUT is on: out_len was not written at once */
	char		out[4096];
	char		buf[BUF_SIZE];
} Conn;

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

static volatile sig_atomic_t stop = 0;

static void
on_term(int sig)
{
	(void) sig;
	stop = 1;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a, 64 bits, of len bytes at p. */
static uint64_t
fnv1a(const char *p, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The number after "name": in body (a JSON number written by jsonb), as text into out; "0" when absent. */
static void
json_number(const char *body, const char *name, char *out, size_t outlen)
{
	char		key[32];
	const char *p;
	size_t		n = 0;

	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(body, key);
	if (p != NULL)
	{
		p += strlen(key);
		while (n < outlen - 1 && (p[n] == '-' || p[n] == '.' || p[n] == 'e' || p[n] == '+' ||
								  (p[n] >= '0' && p[n] <= '9')))
			n++;
		memcpy(out, p, n);
	}
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

/* Writes what is pending in c->out; -1 on a broken connection. */
static int
flush_out(Conn *c)
{
	while (c->out_len > 0)
	{
		ssize_t		w;

		if (c->ssl)
		{
			int			r = SSL_write(c->ssl, c->out, (int) c->out_len);

			if (r <= 0)
			{
				int			e = SSL_get_error(c->ssl, r);

				return (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? 0 : -1;
			}
			w = r;
		}
		else
		{
			w = write(c->fd, c->out, c->out_len);
			if (w < 0)
				return errno == EAGAIN ? 0 : -1;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t) w);
		c->out_len -= (size_t) w;
	}
	return 0;
}

/* Handles every complete request in c->buf; returns -1 to close. */
static int
serve(Conn *c, FILE *out)
{
	for (;;)
	{
		char	   *end;
		char	   *cl;
		size_t		head_len;
		size_t		body_len = 0;

		c->buf[c->len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
		if (end == NULL)
			return c->len >= BUF_SIZE - 1 ? -1 : 0;
		head_len = (size_t) (end - c->buf) + 4;
		cl = strcasestr(c->buf, "\r\nContent-Length:");
		if (cl && cl < end)
			body_len = strtoul(cl + 17, NULL, 10);
		if (head_len + body_len >= BUF_SIZE)
			return -1;
		if (c->len < head_len + body_len)
			return 0;
		{
			char		save = c->buf[head_len + body_len];
			char		t[64];
			char		n[64];

			c->buf[head_len + body_len] = '\0';
			json_number(c->buf + head_len, "t", t, sizeof(t));
			json_number(c->buf + head_len, "n", n, sizeof(n));
			fprintf(out, "%.6f %s %s %016llx\n", now_seconds(), t, n,
					(unsigned long long) fnv1a(c->buf + head_len, body_len));
			c->buf[head_len + body_len] = save;
		}
		if (c->out_len + sizeof(reply) - 1 > sizeof(c->out))
			return -1;
		memcpy(c->out + c->out_len, reply, sizeof(reply) - 1);
		c->out_len += sizeof(reply) - 1;
		memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
		c->len -= head_len + body_len;
	}
}

/* Reads what the connection has (through TLS when on), serves it; -1 to close. */
static int
on_readable(Conn *c, FILE *out)
{
	for (;;)
	{
		ssize_t		r;

		if (c->len >= BUF_SIZE - 1)
			return -1;
		if (c->ssl)
		{
			int			n = SSL_read(c->ssl, c->buf + c->len, (int) (BUF_SIZE - 1 - c->len));

			if (n <= 0)
			{
				int			e = SSL_get_error(c->ssl, n);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					break;
				return -1;
			}
			r = n;
		}
		else
		{
			r = read(c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);
			if (r < 0 && errno == EAGAIN)
				break;
			if (r <= 0)
				return -1;
		}
		c->len += (size_t) r;
		if (serve(c, out) < 0)
			return -1;
	}
	return flush_out(c);
}

static void
close_conn(Conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

int
main(int argc, char **argv)
{
	int			lfd,
				ep;
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);
	int			one = 1;
	FILE	   *out;
	FILE	   *pf;
	SSL_CTX    *ctx = NULL;
	struct rlimit rl;
	struct epoll_event ev,
				events[256];

	if (argc != 3 && argc != 5)
	{
		fprintf(stderr, "usage: webhook_sink PORT_FILE OUT_FILE [CERT_FILE KEY_FILE]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	/* Senders may open thousands of connections at once: allow as many files as permitted. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc == 5)
	{
		ctx = SSL_CTX_new(TLS_server_method());
		if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
			SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
			SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1)
		{
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	out = fopen(argv[2], "w");
	if (out == NULL)
	{
		perror(argv[2]);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) < 0 || listen(lfd, 4096) < 0)
	{
		perror("listen");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *) &addr, &alen);
	pf = fopen(argv[1], "w");
	fprintf(pf, "%d\n", ntohs(addr.sin_port));
	fclose(pf);

	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!stop)
	{
		int			n = epoll_wait(ep, events, 256, 200);

		for (int i = 0; i < n; i++)
		{
			Conn	   *c = events[i].data.ptr;

			if (c == NULL)
			{
				int			fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
				{
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					c = calloc(1, sizeof(Conn));
					if (c == NULL)
					{
						close(fd);
						continue;
					}
					c->fd = fd;
					if (ctx)
					{
						c->ssl = SSL_new(ctx);
						SSL_set_fd(c->ssl, fd);
						SSL_set_accept_state(c->ssl);
					}
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (on_readable(c, out) < 0)
			{
				close_conn(c);
				continue;
			}
			/* A reply that did not fit the socket: wait until it can be written. */
			if ((c->out_len > 0) != c->watching_out)
			{
				c->watching_out = c->out_len > 0;
				ev.events = c->watching_out ? EPOLLIN | EPOLLOUT : EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
		fflush(out);
	}
	fclose(out);
	if (ctx)
		SSL_CTX_free(ctx);
	return 0;
}
