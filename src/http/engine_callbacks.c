/*
 * engine_callbacks.c
 *		The callbacks libcurl calls during a transfer: response body and
 *		headers into the request's result, and the SSRF guard on every address
 *		a guarded request connects to.
 *
 * libcurl calls these from inside curl_multi_perform(), with other transfers
 * in flight, so none of them may raise an error: memory comes from
 * MemoryContextAllocExtended(..., MCXT_ALLOC_NO_OOM) in the context the run
 * was started in, and a failure (no memory, a body past its cap) stops that
 * one transfer with the reason in its result.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "http/engine_internal.h"
#include "http/http_settings.h"

#define HEADER_ROOM_FIRST	16
#define BODY_ROOM_FIRST		16384

/* A bigger copy of old (old_size bytes) in the slot's context; NULL when out of memory. */
static void *
grow(EngineSlot *slot, void *old, size_t old_size, size_t new_size)
{
	void	   *p = MemoryContextAllocExtended(slot->mcxt, new_size, MCXT_ALLOC_NO_OOM);

	if (p != NULL && old != NULL)
	{
		memcpy(p, old, old_size);
		pfree(old);
	}
	return p;
}

/* Stops the transfer of slot from a callback, with the reason in its result. */
static size_t
fail_transfer(EngineSlot *slot, const char *reason)
{
	strlcpy(slot->req->result.error, reason, HTTP_ERROR_LEN);
	slot->failed = true;
	return 0;
}

/*
 * Keeps the body up to the request's cap.  Past it the request fails, or with
 * truncate_ok the rest is read and dropped (so the connection can be reused)
 * until ENGINE_DRAIN_MAX more bytes, after which the transfer is stopped.
 */
size_t
engine_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	EngineSlot *slot = (EngineSlot *) userdata;
	HttpResult *res = &slot->req->result;
	size_t		len = size * nmemb;
	size_t		take = Min(len, slot->cap - res->body_len);

	if (take < len && !slot->req->truncate_ok)
	{
		char		reason[HTTP_ERROR_LEN];

		snprintf(reason, sizeof(reason), "response body exceeds %zu bytes", slot->cap);
		return fail_transfer(slot, reason);
	}
	if (take > 0)
	{
		if (res->body_len + take + 1 > slot->body_room)
		{
			size_t		want = Max(slot->body_room * 2, BODY_ROOM_FIRST);
			char	   *p;

			want = Max(want, res->body_len + take + 1);
			want = Min(want, slot->cap + 1);
			p = grow(slot, res->body, res->body_len, want);
			if (p == NULL)
				return fail_transfer(slot, "out of memory for the response body");
			res->body = p;
			slot->body_room = want;
		}
		memcpy(res->body + res->body_len, data, take);
		res->body_len += take;
		res->body[res->body_len] = '\0';
	}
	if (take < len)
	{
		res->body_truncated = true;
		slot->drained += len - take;
		if (slot->drained > ENGINE_DRAIN_MAX)
		{
			slot->drain_stop = true;
			return 0;
		}
	}
	return len;
}

/* Sets retry_after_seconds from a Retry-After value: seconds or an HTTP date, at most a day. */
static void
parse_retry_after(HttpResult *res, const char *value)
{
	char	   *end;
	long		secs = strtol(value, &end, 10);

	if (end == value || *end != '\0')
	{
		time_t		when = curl_getdate(value, NULL);

		secs = when > 0 ? (long) (when - time(NULL)) : -1;
	}
	if (secs >= 0)
		res->retry_after_seconds = secs > 86400 ? 86400 : (int) secs;
}

/* Appends one header (name and value copied, NUL-terminated) to the result; false when out of memory. */
static bool
add_header(EngineSlot *slot, const char *name, size_t name_len, const char *value, size_t value_len)
{
	HttpResult *res = &slot->req->result;
	char	   *chunk;

	if (res->nheaders == slot->header_room)
	{
		int			room = slot->header_room ? slot->header_room * 2 : HEADER_ROOM_FIRST;
		HttpHeader *p = grow(slot, res->headers, sizeof(HttpHeader) * res->nheaders,
							 sizeof(HttpHeader) * room);

		if (p == NULL)
			return false;
		res->headers = p;
		slot->header_room = room;
	}
	chunk = MemoryContextAllocExtended(slot->mcxt, name_len + value_len + 2, MCXT_ALLOC_NO_OOM);
	if (chunk == NULL)
		return false;
	memcpy(chunk, name, name_len);
	chunk[name_len] = '\0';
	memcpy(chunk + name_len + 1, value, value_len);
	chunk[name_len + 1 + value_len] = '\0';
	res->headers[res->nheaders].name = chunk;
	res->headers[res->nheaders].value = chunk + name_len + 1;
	res->nheaders++;
	return true;
}

/* Extends the last header's value with a folded continuation line (obsolete, still legal to receive). */
static bool
continue_header(EngineSlot *slot, const char *more, size_t more_len)
{
	HttpResult *res = &slot->req->result;
	HttpHeader *last;
	size_t		name_len;
	size_t		value_len;
	char	   *chunk;

	if (res->nheaders == 0 || more_len == 0)
		return true;
	last = &res->headers[res->nheaders - 1];
	name_len = strlen(last->name);
	value_len = strlen(last->value);
	chunk = MemoryContextAllocExtended(slot->mcxt, name_len + value_len + more_len + 3, MCXT_ALLOC_NO_OOM);
	if (chunk == NULL)
		return false;
	memcpy(chunk, last->name, name_len + 1);
	memcpy(chunk + name_len + 1, last->value, value_len);
	chunk[name_len + 1 + value_len] = ' ';
	memcpy(chunk + name_len + 2 + value_len, more, more_len);
	chunk[name_len + 2 + value_len + more_len] = '\0';
	pfree(last->name);
	last->name = chunk;
	last->value = chunk + name_len + 1;
	return true;
}

/*
 * Collects the response headers.  Every status line starts a new response
 * (a 1xx before the final one), so only the final response's headers stay.
 * Lines after the blank line that ends the block (trailers) are not kept.
 */
size_t
engine_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	EngineSlot *slot = (EngineSlot *) userdata;
	HttpResult *res = &slot->req->result;
	size_t		len = size * nmemb;
	size_t		end = len;
	const char *colon;
	const char *value;
	const char *value_end;
	size_t		name_len;

	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	if (end >= 5 && memcmp(data, "HTTP/", 5) == 0)
	{
		for (int i = 0; i < res->nheaders; i++)
			pfree(res->headers[i].name);
		res->nheaders = 0;
		res->retry_after_seconds = -1;
		slot->header_bytes = 0;
		slot->in_headers = true;
		return len;
	}
	if (!slot->in_headers)
		return len;
	if (end == 0)
	{
		slot->in_headers = false;
		return len;
	}
	slot->header_bytes += len;
	if (slot->header_bytes > HTTP_HEADERS_MAX)
	{
		char		reason[HTTP_ERROR_LEN];

		snprintf(reason, sizeof(reason), "response headers exceed %d bytes", HTTP_HEADERS_MAX);
		return fail_transfer(slot, reason);
	}

	value = data;
	if (data[0] == ' ' || data[0] == '\t')
		colon = NULL;
	else
	{
		colon = memchr(data, ':', end);
		if (colon == NULL || colon == data)
			return len;			/* not a header line: ignored */
		value = colon + 1;
	}
	value_end = data + end;
	while (value < value_end && (*value == ' ' || *value == '\t'))
		value++;
	while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
		value_end--;

	if (colon == NULL)
	{
		if (!continue_header(slot, value, value_end - value))
			return fail_transfer(slot, "out of memory for the response headers");
		return len;
	}
	name_len = colon - data;
	while (name_len > 0 && (data[name_len - 1] == ' ' || data[name_len - 1] == '\t'))
		name_len--;
	if (!add_header(slot, data, name_len, value, value_end - value))
		return fail_transfer(slot, "out of memory for the response headers");
	if (pg_strcasecmp(res->headers[res->nheaders - 1].name, "Retry-After") == 0)
		parse_retry_after(res, res->headers[res->nheaders - 1].value);
	return len;
}

/*
 * Opens the socket of a guarded request's connection only when the SSRF
 * guard accepts the address libcurl is about to connect to (every address
 * happy eyeballs tries comes through here).  A refused address gives
 * CURL_SOCKET_BAD; libcurl then tries the next one, and when none is left
 * the request fails with the remembered reason.
 */
curl_socket_t
engine_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	EngineSlot *slot = (EngineSlot *) clientp;
	char		reason[URL_GUARD_REASON_LEN];

	if (purpose != CURLSOCKTYPE_IPCXN ||
		(address->family == AF_INET && address->addrlen < sizeof(struct sockaddr_in)) ||
		(address->family == AF_INET6 && address->addrlen < sizeof(struct sockaddr_in6)))
	{
		strlcpy(slot->refusal, "libcurl asked for a socket of an unexpected kind", sizeof(slot->refusal));
		return CURL_SOCKET_BAD;
	}
	if (url_guard_check_address(http_guard_policy(), &address->addr, reason) != NULL)
	{
		strlcpy(slot->refusal, reason, sizeof(slot->refusal));
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * Judges the address of the connection a guarded request is about to be sent
 * on, right before it is sent: a connection taken from the pool may have been
 * opened by an unguarded request (an operator's provider on a private
 * address) to a host name a tenant now uses.
 */
int
engine_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
			  int conn_primary_port, int conn_local_port)
{
	EngineSlot *slot = (EngineSlot *) clientp;
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	char		reason[URL_GUARD_REASON_LEN];

	memset(&ss, 0, sizeof(ss));
	if (conn_primary_ip != NULL && inet_pton(AF_INET, conn_primary_ip, &in4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (conn_primary_ip != NULL && inet_pton(AF_INET6, conn_primary_ip, &in6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
	{
		snprintf(slot->refusal, sizeof(slot->refusal), "the connected address \"%s\" is not an IP address",
				 conn_primary_ip ? conn_primary_ip : "");
		return CURL_PREREQFUNC_ABORT;
	}
	if (url_guard_check_address(http_guard_policy(), (struct sockaddr *) &ss, reason) != NULL)
	{
		strlcpy(slot->refusal, reason, sizeof(slot->refusal));
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
