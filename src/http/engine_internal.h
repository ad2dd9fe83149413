/*
 * engine_internal.h
 *		What the files of the HTTP engine share: one transfer slot and the
 *		libcurl callbacks that fill its request's result.
 *
 * engine.c drives the multi handle, engine_request.c sets a transfer up,
 * engine_callbacks.c holds the callbacks libcurl calls during a transfer.
 */
#ifndef WIB_HTTP_ENGINE_INTERNAL_H
#define WIB_HTTP_ENGINE_INTERNAL_H

#include <curl/curl.h>

#include "http/engine.h"
#include "http/url_guard.h"

/* The oldest libcurl with every option used here (CURLOPT_PROTOCOLS_STR). */
#define ENGINE_CURL_MIN			0x075500
#define ENGINE_CURL_MIN_TEXT	"7.85.0"

#if LIBCURL_VERSION_NUM < ENGINE_CURL_MIN
#error "wib needs libcurl 7.85.0 or later (CURLOPT_PROTOCOLS_STR, CURLOPT_PREREQFUNCTION)"
#endif

/* Body bytes read and dropped past the cap of a truncate_ok request to keep its connection. */
#define ENGINE_DRAIN_MAX		(64 * 1024)

/* One easy handle of the pool and the request it carries. */
typedef struct EngineSlot
{
	CURL	   *easy;
	HttpRequest *req;			/* NULL when the slot is free */
	struct curl_slist *headers;
	bool		attached;		/* added to the multi handle */
	MemoryContext mcxt;			/* where the result's body and headers go */
	size_t		cap;			/* body cap of this request */
	size_t		body_room;		/* bytes allocated at result.body */
	int			header_room;	/* entries allocated at result.headers */
	size_t		header_bytes;	/* bytes of header lines of the current response */
	bool		in_headers;		/* inside a header block (after its status line) */
	size_t		drained;		/* bytes dropped past the cap (truncate_ok) */
	bool		drain_stop;		/* the transfer was stopped after enough was dropped */
	bool		failed;			/* a callback failed the transfer; result.error says why */
	char		refusal[URL_GUARD_REASON_LEN];	/* why the guard refused an address */
	char		errbuf[CURL_ERROR_SIZE];	/* libcurl's detail of a failure */
} EngineSlot;

/* engine_request.c */
extern bool engine_prepare(EngineSlot *slot, HttpRequest *req, MemoryContext mcxt, bool http2);

/* engine_callbacks.c: never raise, never palloc except with MCXT_ALLOC_NO_OOM. */
extern size_t engine_write(char *data, size_t size, size_t nmemb, void *userdata);
extern size_t engine_header(char *data, size_t size, size_t nmemb, void *userdata);
extern curl_socket_t engine_open_socket(void *clientp, curlsocktype purpose,
										struct curl_sockaddr *address);
extern int	engine_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
						  int conn_primary_port, int conn_local_port);

#endif							/* WIB_HTTP_ENGINE_INTERNAL_H */
