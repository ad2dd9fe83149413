/*
 * engine.h
 *		The outbound HTTP engine: many requests at once over libcurl multi,
 *		tenant URLs behind the SSRF guard at connect time.
 *
 * Shared by webhook delivery, CRM sync, OAuth token exchange, Telnyx, object
 * storage and Web Push.  A caller fills an array of HttpRequest (each started
 * with http_request_init), calls http_engine_run(), and reads the results
 * back from the same array.  The engine never raises an error for a failed
 * request: the failure is in that request's result.
 *
 * Memory: response bodies and headers are allocated in the memory context
 * that is current when http_engine_run() is called; they live as long as it.
 */
#ifndef WIB_HTTP_ENGINE_H
#define WIB_HTTP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_RESPONSE_DEFAULT	(1024 * 1024)	/* body cap when max_response is 0 */
#define HTTP_HEADERS_MAX			(256 * 1024)	/* bytes of response headers accepted */
#define HTTP_ERROR_LEN				256

/* One response header, as received (name without the colon, value trimmed). */
typedef struct HttpHeader
{
	char	   *name;
	char	   *value;
} HttpHeader;

typedef struct HttpRequest HttpRequest;

/*
 * Called right before a request is handed to libcurl (after its URL passed
 * the guard), so headers that depend on the moment of sending (a signature's
 * timestamp) are computed then.  It may rewrite the inputs of its own request
 * (the header strings, the body).  It runs while libcurl holds other
 * requests: it must not raise an error, so it must not palloc either (use
 * buffers prepared beforehand, or palloc_extended with MCXT_ALLOC_NO_OOM).
 */
typedef void (*HttpStartCallback) (HttpRequest *req, void *arg);

/* What happened to a request; written by the engine only. */
typedef struct HttpResult
{
	long		status;			/* HTTP status of the final response, 0 when none */
	int			http_version;	/* 10, 11, 2 or 3; 0 when no response */
	char	   *body;			/* body_len bytes (any bytes) plus a NUL; NULL when empty */
	size_t		body_len;
	bool		body_truncated; /* truncate_ok cut the body at max_response */
	HttpHeader *headers;		/* headers of the final response, in order */
	int			nheaders;
	int			retry_after_seconds;	/* Retry-After (seconds or date, at most 1 day), -1 if none */
	int			duration_ms;
	bool		refused;		/* the SSRF guard refused the URL or the address */
	char		error[HTTP_ERROR_LEN];	/* empty when a response arrived */
} HttpResult;

struct HttpRequest
{
	/* Inputs: set by the caller, read by the engine, owned by the caller until the run ends. */
	const char *method;			/* GET, POST, PUT, PATCH, DELETE or HEAD; NULL means POST */
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	int			nheaders;
	const char *body;			/* body_len bytes, any bytes; NULL: no body */
	size_t		body_len;
	size_t		max_response;	/* body cap in bytes; 0: HTTP_MAX_RESPONSE_DEFAULT */
	bool		truncate_ok;	/* past the cap keep the first max_response bytes, no error */
	bool		guarded;		/* tenant URL: the SSRF guard judges every address connected to */
	int			connect_timeout_ms; /* 0: wib.http_connect_timeout */
	int			timeout_ms;		/* 0: wib.http_timeout */
	HttpStartCallback on_start; /* optional, see above */
	void	   *on_start_arg;

	/* Results: written by the engine. */
	HttpResult	result;
};

/*
 * Clears a request and sets its defaults: POST, guarded.  Start every request
 * with it, so a URL is guarded unless the caller says otherwise (only
 * operator-configured provider base URLs should be unguarded).
 */
extern void http_request_init(HttpRequest *req, const char *method, const char *url);

/*
 * Runs every request, up to wib.http_max_concurrency at once, and returns
 * when all are done.  Best called outside any transaction (network I/O).
 */
extern void http_engine_run(HttpRequest *requests, int n);

/*
 * Requests started one at a time while the caller keeps working, for a
 * caller that produces the bodies as it goes (an upload in parts): begin a
 * session, start each request when its body is ready (up to
 * wib.http_max_concurrency at once), and call http_engine_wait() between
 * pieces of the caller's own work, so transfers progress meanwhile; each
 * request is handed back once, when it has finished and its result is
 * written.  Results are allocated in the memory context current when the
 * request was started.  http_engine_run() must not be called while started
 * requests are unfinished (it drops them, as a new session does).
 */
extern void http_engine_begin(void);

/* Starts req now; false (req finished at once, result.error says why) when it cannot start or every slot is busy. */
extern bool http_engine_start(HttpRequest *req);

/*
 * Moves the started requests along, waiting up to timeout_ms (0: not at
 * all) for one to finish; returns a finished request, or NULL when none
 * finished in time (or none is running).
 */
extern HttpRequest *http_engine_wait(int timeout_ms);

/* Started requests not yet handed back by http_engine_wait(). */
extern int	http_engine_running(void);

/* The first response header called name (any case), or NULL. */
extern const char *http_response_header(const HttpRequest *req, const char *name);

/*
 * application/x-www-form-urlencoded (WHATWG URL): name=value pairs joined
 * with '&', space as '+', all but A-Z a-z 0-9 * - . _ as %XX.  palloc'd.
 */
extern char *http_form_encode(const char *const *names, const char *const *values, int n);

/* Percent-encodes s for a URL path segment or query (RFC 3986: unreserved kept, space %20).  palloc'd. */
extern char *http_url_encode(const char *s);

#endif							/* WIB_HTTP_ENGINE_H */
