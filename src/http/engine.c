/*
 * engine.c
 *		libcurl multi driver of the outbound HTTP engine.
 *
 * One multi handle and a pool of easy handles live as long as the process,
 * so connections (and TLS sessions) are reused across runs: HTTP keep-alive
 * to a busy receiver costs one handshake, not one per request.  Before a
 * request is started the SSRF guard checks its URL, resolves the host,
 * checks every address and pins the first with CURLOPT_RESOLVE, so curl
 * connects to exactly the address that was checked.  Redirects are never
 * followed; TLS is always verified.
 *
 * Nothing here pallocs or raises while curl holds a request, except
 * CHECK_FOR_INTERRUPTS between polls; a run cut short that way is cleaned
 * up at the start of the next run.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"

#include "http/engine.h"
#include "http/http_settings.h"
#include "http/url_guard.h"

#define ENGINE_POOL_MAX		1024
#define ENGINE_MAX_RESPONSE	(4 * 1024 * 1024)
#define ENGINE_USER_AGENT	"wib/0.1.0 (PostgreSQL webhook deliverer)"
#define RESOLVE_CACHE_SIZE	16

typedef struct EngineSlot
{
	CURL	   *easy;
	HttpRequest *req;
	struct curl_slist *headers;
	struct curl_slist *resolve;
	bool		attached;
} EngineSlot;

static CURLM *multi = NULL;
static EngineSlot pool[ENGINE_POOL_MAX];

/* Pinned addresses of this run, so a batch to one host resolves it once. */
typedef struct ResolveEntry
{
	char		host[URL_GUARD_HOST_LEN];
	int			port;
	bool		ok;
	char		pinned[64];
	char		reason[URL_GUARD_REASON_LEN];
} ResolveEntry;

static ResolveEntry resolve_cache[RESOLVE_CACHE_SIZE];
static int	resolve_count = 0;

/* Keeps the first HTTP_BODY_HEAD bytes of the body and reads past the rest. */
static size_t
engine_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	HttpRequest *req = (HttpRequest *) userdata;
	size_t		len = size * nmemb;
	size_t		room = HTTP_BODY_HEAD - req->body_head_len;
	size_t		take = len < room ? len : room;

	if (take > 0)
	{
		memcpy(req->body_head + req->body_head_len, data, take);
		req->body_head_len += take;
		req->body_head[req->body_head_len] = '\0';
	}
	return len;
}

/* Picks Retry-After (seconds or an HTTP date) out of the response headers. */
static size_t
engine_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	HttpRequest *req = (HttpRequest *) userdata;
	size_t		len = size * nmemb;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && len < 200 && pg_strncasecmp(data, name, sizeof(name) - 1) == 0)
	{
		char		value[200];
		char	   *v;
		char	   *end;
		long		secs;

		memcpy(value, data + sizeof(name) - 1, len - (sizeof(name) - 1));
		value[len - (sizeof(name) - 1)] = '\0';
		v = value;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\r\n")] = '\0';
		secs = strtol(v, &end, 10);
		if (end == v || *end != '\0')
		{
			time_t		when = curl_getdate(v, NULL);

			secs = when > 0 ? (long) (when - time(NULL)) : -1;
		}
		if (secs >= 0)
			req->retry_after_seconds = secs > 86400 ? 86400 : (int) secs;
	}
	return len;
}

/* Pins target to a checked address; false with the reason in req->error. */
static bool
engine_pin(const UrlTarget *target, HttpRequest *req, EngineSlot *slot)
{
	ResolveEntry *e = NULL;
	char		line[URL_GUARD_HOST_LEN + 96];

	if (target->is_literal)
		return true;			/* checked already; nothing to resolve */
	for (int i = 0; i < resolve_count; i++)
		if (resolve_cache[i].port == target->port && strcmp(resolve_cache[i].host, target->bare_host) == 0)
			e = &resolve_cache[i];
	if (e == NULL)
	{
		e = &resolve_cache[resolve_count < RESOLVE_CACHE_SIZE ? resolve_count++ : RESOLVE_CACHE_SIZE - 1];
		strlcpy(e->host, target->bare_host, sizeof(e->host));
		e->port = target->port;
		e->ok = url_guard_resolve(target, e->pinned, sizeof(e->pinned), e->reason);
	}
	if (!e->ok)
	{
		req->refused = strncmp(e->reason, "could not resolve", 17) != 0;
		snprintf(req->error, HTTP_ERROR_LEN, "%s", e->reason);
		return false;
	}
	/* The URL keeps its host (SNI, Host header, certificate name); only the address is pinned. */
	snprintf(line, sizeof(line), "%s:%d:%s", target->host, target->port, e->pinned);
	slot->resolve = curl_slist_append(NULL, line);
	return slot->resolve != NULL;
}

/* Sets up slot for req; false (with req's error set) when the request cannot start. */
static bool
engine_prepare(EngineSlot *slot, HttpRequest *req)
{
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];
	CURL	   *h;

	req->status = 0;
	req->body_head[0] = '\0';
	req->body_head_len = 0;
	req->retry_after_seconds = -1;
	req->duration_ms = 0;
	req->refused = false;
	req->error[0] = '\0';

	if (!url_guard_check(req->url, &target, reason))
	{
		req->refused = true;
		snprintf(req->error, HTTP_ERROR_LEN, "refused: %s", reason);
		return false;
	}
	if (slot->easy == NULL)
		slot->easy = curl_easy_init();
	else
		curl_easy_reset(slot->easy);
	if (slot->easy == NULL)
	{
		snprintf(req->error, HTTP_ERROR_LEN, "out of memory");
		return false;
	}
	if (!engine_pin(&target, req, slot))
	{
		if (req->error[0] == '\0')
			snprintf(req->error, HTTP_ERROR_LEN, "out of memory");
		return false;
	}

	h = slot->easy;
	slot->req = req;
	slot->headers = curl_slist_append(NULL, "Expect:");
	for (int i = 0; i < req->nheaders && slot->headers; i++)
		slot->headers = curl_slist_append(slot->headers, req->headers[i]);

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, slot);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, slot->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, ENGINE_USER_AGENT);
	if (slot->resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, slot->resolve);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, http_allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_ca_file && http_ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, http_ca_file);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
					 (long) (req->connect_timeout_ms > 0 ? req->connect_timeout_ms : http_connect_timeout_ms));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
					 (long) (req->timeout_ms > 0 ? req->timeout_ms : http_timeout_ms));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) ENGINE_MAX_RESPONSE);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, engine_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, engine_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (req->method == NULL || strcmp(req->method, "POST") == 0)
	{
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	else if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
	{
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body)
		{
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		}
	}
	return true;
}

/* Detaches a slot from the multi handle and frees its lists. */
static void
engine_release(EngineSlot *slot)
{
	if (slot->attached)
		curl_multi_remove_handle(multi, slot->easy);
	slot->attached = false;
	curl_slist_free_all(slot->headers);
	curl_slist_free_all(slot->resolve);
	slot->headers = NULL;
	slot->resolve = NULL;
	slot->req = NULL;
}

/* Copies the outcome of a finished transfer into its request. */
static void
engine_finish(EngineSlot *slot, CURLcode rc)
{
	HttpRequest *req = slot->req;
	curl_off_t	total_us = 0;

	curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &req->status);
	curl_easy_getinfo(slot->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	req->duration_ms = (int) (total_us / 1000);
	if (rc != CURLE_OK)
	{
		snprintf(req->error, HTTP_ERROR_LEN, "%s", curl_easy_strerror(rc));
		/* A response that was cut off (timeout, size) is not a response. */
		req->status = 0;
	}
	engine_release(slot);
}

/* Runs every request, at most wib.http_max_concurrency at once, and fills in its result. */
void
http_engine_run(HttpRequest *requests, int n)
{
	int			concurrency = Min(http_max_concurrency, ENGINE_POOL_MAX);
	int			next = 0;
	int			running = 0;

	if (multi == NULL)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
			(multi = curl_multi_init()) == NULL)
		{
			for (int i = 0; i < n; i++)
				snprintf(requests[i].error, HTTP_ERROR_LEN, "could not initialize libcurl");
			return;
		}
	}
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) concurrency);

	/* A run interrupted by an error left its transfers attached: drop them. */
	for (int i = 0; i < ENGINE_POOL_MAX; i++)
		if (pool[i].attached || pool[i].headers || pool[i].resolve)
			engine_release(&pool[i]);
	resolve_count = 0;

	while (next < n || running > 0)
	{
		CURLMsg    *msg;
		int			queued;
		int			still;

		/* Fill free slots with the next requests. */
		for (int i = 0; i < concurrency && next < n; i++)
		{
			if (pool[i].attached)
				continue;
			while (next < n)
			{
				HttpRequest *req = &requests[next++];

				if (!engine_prepare(&pool[i], req))
				{
					engine_release(&pool[i]);
					continue;
				}
				if (curl_multi_add_handle(multi, pool[i].easy) != CURLM_OK)
				{
					snprintf(req->error, HTTP_ERROR_LEN, "could not start the request");
					engine_release(&pool[i]);
					continue;
				}
				pool[i].attached = true;
				running++;
				break;
			}
		}

		curl_multi_perform(multi, &still);
		while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
		{
			EngineSlot *slot = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
			if (slot == NULL || slot->req == NULL)
				continue;
			engine_finish(slot, msg->data.result);
			running--;
		}
		if (running > 0 && next >= n)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
		else if (running >= concurrency)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
		CHECK_FOR_INTERRUPTS();
	}
}
