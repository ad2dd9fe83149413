/*
 * push_sink.c
 *		A fast Web Push service for bench/mobile.sh: single-threaded epoll,
 *		HTTP/1.1 keep-alive, answers a push 201 Created, as push services do.
 *
 * It refuses (400) a push without TTL, without Content-Encoding: aes128gcm
 * or without a "vapid t=..., k=..." Authorization, and logs each accepted
 * one as a line "recv-time<TAB>path<TAB>authorization<TAB>body-base64url",
 * so that bench/push_verify.py checks every token and decrypts every body
 * afterwards with the push service peer's code (test/peers/push_service.py),
 * off the clock.  The figure then measures the senders, not a slow service.
 * Stops on SIGTERM.
 *
 * Usage: push_sink PORT_FILE LOG_FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

typedef struct Conn
{
	int			fd;
	size_t		len;
	char		buf[BUF_SIZE];
} Conn;

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

/* The value of header name in the head [start, end), up to its CRLF, or NULL; *len its length. */
static const char *
header(const char *start, const char *end, const char *name, size_t *len)
{
	size_t		nlen = strlen(name);

	for (const char *p = strstr(start, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
	{
		const char *line = p + 2;

		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
		{
			const char *v = line + nlen + 1;
			const char *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			*len = (size_t) (e - v);
			return v;
		}
	}
	return NULL;
}

/* Writes len bytes as unpadded base64url. */
static void
put_base64url(FILE *out, const unsigned char *in, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t		i;

	for (i = 0; i + 2 < len; i += 3)
	{
		fputc(abc[in[i] >> 2], out);
		fputc(abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)], out);
		fputc(abc[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)], out);
		fputc(abc[in[i + 2] & 63], out);
	}
	if (len - i == 1)
	{
		fputc(abc[in[i] >> 2], out);
		fputc(abc[(in[i] & 3) << 4], out);
	}
	else if (len - i == 2)
	{
		fputc(abc[in[i] >> 2], out);
		fputc(abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)], out);
		fputc(abc[(in[i + 1] & 15) << 2], out);
	}
}

/* Handles every complete request in c->buf; returns -1 to close. */
static int
serve(Conn *c, FILE *out)
{
	static const char created[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nLocation: /m/1\r\n\r\n";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

	for (;;)
	{
		char	   *end;
		const char *v;
		size_t		vlen;
		size_t		head_len;
		size_t		body_len = 0;
		const char *ttl;
		const char *enc;
		const char *auth;
		size_t		ttl_len,
					enc_len,
					auth_len;
		const char *reply;

		c->buf[c->len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
		if (end == NULL)
			return c->len >= BUF_SIZE - 1 ? -1 : 0;
		head_len = (size_t) (end - c->buf) + 4;
		if ((v = header(c->buf, end + 2, "Content-Length", &vlen)) != NULL)
			body_len = strtoul(v, NULL, 10);
		if (head_len + body_len >= BUF_SIZE)
			return -1;
		if (c->len < head_len + body_len)
			return 0;
		ttl = header(c->buf, end + 2, "TTL", &ttl_len);
		enc = header(c->buf, end + 2, "Content-Encoding", &enc_len);
		auth = header(c->buf, end + 2, "Authorization", &auth_len);
		if (strncmp(c->buf, "POST /push/", 11) == 0 && ttl && enc && enc_len == 9 &&
			strncasecmp(enc, "aes128gcm", 9) == 0 && auth && auth_len > 8 &&
			strncasecmp(auth, "vapid t=", 8) == 0 && body_len > 0)
		{
			const char *path = c->buf + 5;
			const char *path_end = strchr(path, ' ');

			fprintf(out, "%.6f\t%.*s\t%.*s\t", now_seconds(), (int) (path_end - path), path, (int) auth_len, auth);
			put_base64url(out, (const unsigned char *) c->buf + head_len, body_len);
			fputc('\n', out);
			reply = created;
		}
		else
			reply = bad;
		if (write(c->fd, reply, strlen(reply)) < 0)
			return -1;
		memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
		c->len -= head_len + body_len;
	}
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
	struct epoll_event ev,
				events[256];

	if (argc != 3)
	{
		fprintf(stderr, "usage: push_sink PORT_FILE LOG_FILE\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	out = fopen(argv[2], "w");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (out == NULL || bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) < 0 || listen(lfd, 1024) < 0)
	{
		perror("push_sink");
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
				int			fd = accept(lfd, NULL, NULL);

				if (fd < 0)
					continue;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c = calloc(1, sizeof(Conn));
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			{
				ssize_t		r = read(c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);

				if (r <= 0 || (c->len += (size_t) r, serve(c, out) < 0))
				{
					close(c->fd);
					free(c);
				}
			}
		}
		fflush(out);
	}
	fclose(out);
	return 0;
}
