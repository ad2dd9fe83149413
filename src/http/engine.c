/*
 * engine.c
 *		libcurl multi driver of the outbound HTTP engine.
 *
 * One multi handle and a pool of easy handles live as long as the process,
 * so connections (TLS sessions, HTTP/2 streams) are reused across runs: a
 * busy receiver costs one handshake, not one per request.  Host names are
 * resolved by libcurl's threaded resolver, many at once; the SSRF guard
 * judges the address each guarded request actually connects to
 * (engine_callbacks.c), so nothing is resolved here and nothing is pinned.
 *
 * Nothing here pallocs or raises while libcurl holds a request, except
 * through MCXT_ALLOC_NO_OOM allocations in the callbacks and
 * CHECK_FOR_INTERRUPTS between polls; a run cut short that way is cleaned
 * up at the start of the next run.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "http/engine_internal.h"
#include "http/http_settings.h"

#define ENGINE_POOL_MAX		1024

/* Sets a multi handle option; on failure writes the option's name into error and returns false. */
#define ENGINE_MULTI_SETOPT(option, value, error) \
	do { \
		CURLMcode	msetopt_rc_ = curl_multi_setopt(multi, option, value); \
		if (msetopt_rc_ != CURLM_OK) \
		{ \
			snprintf(error, HTTP_ERROR_LEN, "could not set %s: %s", #option, \
					 curl_multi_strerror(msetopt_rc_)); \
			return false; \
		} \
	} while (0)

static CURLM *multi = NULL;
static bool use_http2 = false;
static int	configured_concurrency = 0;
static EngineSlot pool[ENGINE_POOL_MAX];

/* A session of http_engine_start/wait: requests in flight, and finished ones not yet handed back. */
static int	session_running = 0;
static HttpRequest *session_done[ENGINE_POOL_MAX];
static int	session_ndone = 0;

/* Clears a request and sets its defaults (see engine.h). */
void
http_request_init(HttpRequest *req, const char *method, const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->guarded = true;
	req->result.retry_after_seconds = -1;
}

/* The first response header called name, any case (see engine.h). */
const char *
http_response_header(const HttpRequest *req, const char *name)
{
	for (int i = 0; i < req->result.nheaders; i++)
		if (pg_strcasecmp(req->result.headers[i].name, name) == 0)
			return req->result.headers[i].value;
	return NULL;
}

/* Sets libcurl up once per process; false with the reason in error. */
static bool
engine_init(char *error)
{
	static bool global_done = false;
	const curl_version_info_data *info;
	CURLcode	rc;

	if (multi != NULL)
		return true;
	info = curl_version_info(CURLVERSION_NOW);
	if (info->version_num < ENGINE_CURL_MIN)
	{
		snprintf(error, HTTP_ERROR_LEN, "libcurl %s is loaded, but wib needs libcurl %s or later",
				 info->version, ENGINE_CURL_MIN_TEXT);
		return false;
	}
	if (!global_done)
	{
		rc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (rc != CURLE_OK)
		{
			snprintf(error, HTTP_ERROR_LEN, "curl_global_init failed: %s", curl_easy_strerror(rc));
			return false;
		}
		global_done = true;
		if ((info->features & CURL_VERSION_ASYNCHDNS) == 0)
			ereport(LOG,
					(errmsg("wib: libcurl %s resolves host names synchronously", info->version),
					 errdetail("Outbound requests wait for each DNS lookup in turn; a libcurl built with the threaded resolver avoids that.")));
	}
	use_http2 = (info->features & CURL_VERSION_HTTP2) != 0;
	multi = curl_multi_init();
	if (multi == NULL)
	{
		snprintf(error, HTTP_ERROR_LEN, "could not create a libcurl multi handle");
		return false;
	}
	configured_concurrency = 0;
	return true;
}

/* Sizes the connection pool for concurrency transfers at once; false with the reason in error. */
static bool
engine_configure(int concurrency, char *error)
{
	if (concurrency == configured_concurrency)
		return true;
	ENGINE_MULTI_SETOPT(CURLMOPT_PIPELINING, (long) (use_http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING), error);
	ENGINE_MULTI_SETOPT(CURLMOPT_MAX_HOST_CONNECTIONS, (long) concurrency, error);
	ENGINE_MULTI_SETOPT(CURLMOPT_MAXCONNECTS, (long) concurrency, error);
	configured_concurrency = concurrency;
	return true;
}

/* Detaches a slot from the multi handle and frees its header list; the easy handle is kept. */
static void
engine_release(EngineSlot *slot)
{
	if (slot->attached)
		curl_multi_remove_handle(multi, slot->easy);
	slot->attached = false;
	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	slot->req = NULL;
}

/* The protocol version of a CURLINFO_HTTP_VERSION value: 10, 11, 2, 3; 0 when none. */
static int
engine_version(long v)
{
	switch (v)
	{
		case CURL_HTTP_VERSION_1_0:
			return 10;
		case CURL_HTTP_VERSION_1_1:
			return 11;
		case CURL_HTTP_VERSION_2_0:
			return 2;
		case CURL_HTTP_VERSION_3:
			return 3;
		default:
			return 0;
	}
}

/* Copies the outcome of a finished transfer into its request and frees the slot. */
static void
engine_finish(EngineSlot *slot, CURLcode rc)
{
	HttpResult *res = &slot->req->result;
	curl_off_t	total_us = 0;
	curl_off_t	connect_us = 0;
	long		version = 0;

	(void) curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &res->status);
	(void) curl_easy_getinfo(slot->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	(void) curl_easy_getinfo(slot->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	(void) curl_easy_getinfo(slot->easy, CURLINFO_HTTP_VERSION, &version);
	res->duration_ms = (int) (total_us / 1000);
	res->http_version = engine_version(version);

	/* A truncate_ok request stopped after dropping enough of the body succeeded. */
	if (rc == CURLE_WRITE_ERROR && slot->drain_stop && !slot->failed)
		rc = CURLE_OK;
	if (rc != CURLE_OK)
	{
		if (slot->failed)
			;					/* the callback wrote the reason */
		else if (slot->refusal[0] != '\0' &&
				 (rc == CURLE_COULDNT_CONNECT || rc == CURLE_ABORTED_BY_CALLBACK ||
				  (rc == CURLE_OPERATION_TIMEDOUT && connect_us == 0)))
		{
			res->refused = true;
			snprintf(res->error, HTTP_ERROR_LEN, "refused: %s", slot->refusal);
		}
		else if (rc == CURLE_FILESIZE_EXCEEDED)
			snprintf(res->error, HTTP_ERROR_LEN, "response body exceeds %zu bytes", slot->cap);
		else if (slot->errbuf[0] != '\0')
			snprintf(res->error, HTTP_ERROR_LEN, "%s: %s", curl_easy_strerror(rc), slot->errbuf);
		else
			snprintf(res->error, HTTP_ERROR_LEN, "%s", curl_easy_strerror(rc));
		/* A response that was cut off (timeout, size) is not a response. */
		res->status = 0;
		if (res->body != NULL)
			pfree(res->body);
		res->body = NULL;
		res->body_len = 0;
		res->body_truncated = false;
	}
	engine_release(slot);
}

/* Fails every request still held by libcurl with error (the multi handle itself failed). */
static int
engine_fail_running(const char *error)
{
	for (int i = 0; i < ENGINE_POOL_MAX; i++)
	{
		if (!pool[i].attached || pool[i].req == NULL)
			continue;
		snprintf(pool[i].req->result.error, HTTP_ERROR_LEN, "%s", error);
		pool[i].req->result.status = 0;
		engine_release(&pool[i]);
	}
	return 0;
}

/*
 * curl_multi_perform with every signal blocked, so the resolver threads
 * libcurl starts inherit a full mask and PostgreSQL's signal handlers only
 * ever run on the backend's own thread.  Signals that arrive meanwhile are
 * delivered when the mask is restored.
 */
static CURLMcode
engine_perform(int *still)
{
	sigset_t	all;
	sigset_t	old;
	CURLMcode	rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = curl_multi_perform(multi, still);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Runs every request, at most wib.http_max_concurrency at once, and fills in its result. */
void
http_engine_run(HttpRequest *requests, int n)
{
	MemoryContext mcxt = CurrentMemoryContext;
	int			concurrency = Min(http_max_concurrency, ENGINE_POOL_MAX);
	char		error[HTTP_ERROR_LEN];
	int			next = 0;
	int			running = 0;

	for (int i = 0; i < n; i++)
	{
		memset(&requests[i].result, 0, sizeof(HttpResult));
		requests[i].result.retry_after_seconds = -1;
	}

	if (!engine_init(error) || !engine_configure(concurrency, error))
	{
		for (int i = 0; i < n; i++)
			strlcpy(requests[i].result.error, error, HTTP_ERROR_LEN);
		return;
	}

	/* A run interrupted by an error (or a session not waited for) left transfers attached: drop them. */
	for (int i = 0; i < ENGINE_POOL_MAX; i++)
		if (pool[i].attached || pool[i].headers || pool[i].req)
			engine_release(&pool[i]);
	session_running = 0;
	session_ndone = 0;

	while (next < n || running > 0)
	{
		CURLMsg    *msg;
		CURLMcode	mrc;
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

				if (!engine_prepare(&pool[i], req, mcxt, use_http2))
				{
					engine_release(&pool[i]);
					continue;
				}
				mrc = curl_multi_add_handle(multi, pool[i].easy);
				if (mrc != CURLM_OK)
				{
					snprintf(req->result.error, HTTP_ERROR_LEN, "could not start the request: %s",
							 curl_multi_strerror(mrc));
					engine_release(&pool[i]);
					continue;
				}
				pool[i].attached = true;
				running++;
				break;
			}
		}

		mrc = engine_perform(&still);
		if (mrc != CURLM_OK)
		{
			snprintf(error, HTTP_ERROR_LEN, "libcurl failed: %s", curl_multi_strerror(mrc));
			running = engine_fail_running(error);
		}
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
		if (running > 0 && (next >= n || running >= concurrency))
			curl_multi_poll(multi, NULL, 0, 100, NULL);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Begins a session of started requests: drops what an interrupted run or session left attached. */
void
http_engine_begin(void)
{
	for (int i = 0; i < ENGINE_POOL_MAX; i++)
		if (pool[i].attached || pool[i].headers || pool[i].req)
			engine_release(&pool[i]);
	session_running = 0;
	session_ndone = 0;
}

/* Starts one request of the session in a free slot (see engine.h). */
bool
http_engine_start(HttpRequest *req)
{
	int			concurrency = Min(http_max_concurrency, ENGINE_POOL_MAX);
	char		error[HTTP_ERROR_LEN];
	CURLMcode	mrc;

	memset(&req->result, 0, sizeof(HttpResult));
	req->result.retry_after_seconds = -1;
	if (!engine_init(error) || !engine_configure(concurrency, error))
	{
		strlcpy(req->result.error, error, HTTP_ERROR_LEN);
		return false;
	}
	for (int i = 0; i < concurrency; i++)
	{
		if (pool[i].attached || pool[i].req != NULL)
			continue;
		if (!engine_prepare(&pool[i], req, CurrentMemoryContext, use_http2))
		{
			engine_release(&pool[i]);
			return false;
		}
		mrc = curl_multi_add_handle(multi, pool[i].easy);
		if (mrc != CURLM_OK)
		{
			snprintf(req->result.error, HTTP_ERROR_LEN, "could not start the request: %s",
					 curl_multi_strerror(mrc));
			engine_release(&pool[i]);
			return false;
		}
		pool[i].attached = true;
		session_running++;
		return true;
	}
	snprintf(req->result.error, HTTP_ERROR_LEN, "every one of the %d connections of the engine is busy", concurrency);
	return false;
}

/* Moves the session's transfers along and hands back one finished request (see engine.h). */
HttpRequest *
http_engine_wait(int timeout_ms)
{
	TimestampTz until = GetCurrentTimestamp() + (TimestampTz) Max(timeout_ms, 0) * 1000;

	for (;;)
	{
		CURLMsg    *msg;
		CURLMcode	mrc;
		int			queued;
		int			still;
		long		left;

		if (session_ndone > 0)
		{
			HttpRequest *req = session_done[0];

			memmove(session_done, session_done + 1, sizeof(HttpRequest *) * --session_ndone);
			return req;
		}
		if (session_running == 0)
			return NULL;

		mrc = engine_perform(&still);
		if (mrc != CURLM_OK)
		{
			char		error[HTTP_ERROR_LEN];

			snprintf(error, HTTP_ERROR_LEN, "libcurl failed: %s", curl_multi_strerror(mrc));
			for (int i = 0; i < ENGINE_POOL_MAX; i++)
			{
				if (!pool[i].attached || pool[i].req == NULL)
					continue;
				snprintf(pool[i].req->result.error, HTTP_ERROR_LEN, "%s", error);
				pool[i].req->result.status = 0;
				session_done[session_ndone++] = pool[i].req;
				engine_release(&pool[i]);
			}
			session_running = 0;
			continue;
		}
		while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
		{
			EngineSlot *slot = NULL;
			HttpRequest *req;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
			if (slot == NULL || slot->req == NULL)
				continue;
			req = slot->req;
			engine_finish(slot, msg->data.result);
			session_done[session_ndone++] = req;
			session_running--;
		}
		if (session_ndone > 0)
			continue;
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);
		if (left <= 0)
			return NULL;
		curl_multi_poll(multi, NULL, 0, (int) Min(left, 100), NULL);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Started requests not yet handed back. */
int
http_engine_running(void)
{
	return session_running + session_ndone;
}
