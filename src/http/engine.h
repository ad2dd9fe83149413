/*
 * engine.h
 *		The outbound HTTP engine: many requests at once over libcurl multi,
 *		each behind the SSRF guard, pinned to the address the guard checked.
 *
 * Shared by webhook delivery, CRM sync and Web Push.  A caller fills an array
 * of HttpRequest, calls http_engine_run() outside any transaction, and reads
 * the results back from the same array.  The engine never raises an error
 * for a failed request: the failure is in that request's result.
 */
#ifndef WIB_HTTP_ENGINE_H
#define WIB_HTTP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_BODY_HEAD		1024	/* bytes of a response body kept */
#define HTTP_ERROR_LEN		256

typedef struct HttpRequest
{
	/* What to send (owned by the caller; must live until the run ends). */
	const char *method;			/* NULL means POST */
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	int			nheaders;
	const char *body;
	size_t		body_len;
	int			connect_timeout_ms; /* 0: wib.http_connect_timeout */
	int			timeout_ms;		/* 0: wib.http_timeout */

	/* What happened (written by the engine). */
	long		status;			/* HTTP status, 0 when no response */
	char		body_head[HTTP_BODY_HEAD + 1];	/* first bytes of the body, NUL-terminated */
	size_t		body_head_len;
	int			retry_after_seconds;	/* Retry-After, -1 when absent */
	int			duration_ms;
	bool		refused;		/* the SSRF guard refused the URL or its address */
	char		error[HTTP_ERROR_LEN];	/* empty when a response arrived */
} HttpRequest;

/* Runs every request, up to wib.http_max_concurrency at once; returns when all are done. */
extern void http_engine_run(HttpRequest *requests, int n);

#endif							/* WIB_HTTP_ENGINE_H */
