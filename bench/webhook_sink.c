/*
 * webhook_sink.c
 *		A fast webhook receiver for bench/webhooks.sh: single-threaded epoll,
 *		HTTP/1.1 keep-alive, answers every request 200 "ok".
 *
 * For each request it notes the receive time and the "t" field of the body
 * (the emit time the benchmark put there), one line "recv t" per request, so
 * the script can compute commit-to-receipt latency.  Stops on SIGTERM.
 *
 * Usage: webhook_sink PORT_FILE OUT_FILE
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

#define BUF_SIZE (256 * 1024)

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

/* Handles every complete request in c->buf; returns -1 to close. */
static int
serve(Conn *c, FILE *out)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

	for (;;)
	{
		char	   *end;
		char	   *cl;
		size_t		head_len;
		size_t		body_len = 0;
		char	   *t;

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

			c->buf[head_len + body_len] = '\0';
			t = strstr(c->buf + head_len, "\"t\": ");
			fprintf(out, "%.6f %s\n", now_seconds(), t ? strtok(t + 5, ",}") : "0");
			c->buf[head_len + body_len] = save;
		}
		if (write(c->fd, reply, sizeof(reply) - 1) < 0)
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
		fprintf(stderr, "usage: webhook_sink PORT_FILE OUT_FILE\n");
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
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) < 0 || listen(lfd, 1024) < 0)
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
