/*
 * engine_request.c
 *		Sets one transfer up: the URL check, the caller's start callback, and
 *		every libcurl option of the request.
 *
 * Every option is checked: a curl_easy_setopt that fails fails its request
 * with the option's name in the error, rather than sending a request that
 * is not the one asked for (say, without TLS verification or through a
 * proxy).  The same options go on every request, whatever it is for: TLS
 * verified, no redirects, no proxy (libcurl would otherwise take one from
 * the server's environment, HTTPS_PROXY or ALL_PROXY, and connect there
 * instead of to the checked address), https only unless wib.http_allow_http.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "http/engine_internal.h"
#include "http/http_settings.h"

#ifndef WIB_VERSION
#error "WIB_VERSION is not defined: the Makefile passes it from wib.control"
#endif

#define ENGINE_USER_AGENT	"wib/" WIB_VERSION " (PostgreSQL " PG_MAJORVERSION ")"

/* Bodies from this size on are sent through an upload buffer of this size. */
#define ENGINE_LARGE_BODY	(1024 * 1024)

/* The largest body a request may keep (a palloc chunk, its NUL included). */
#define ENGINE_CAP_MAX		(MaxAllocSize - 1)

/* Sets an option on the slot's easy handle; on failure fails the request, naming the option. */
#define ENGINE_SETOPT(slot, option, value) \
	do { \
		CURLcode	setopt_rc_ = curl_easy_setopt((slot)->easy, option, value); \
		if (setopt_rc_ != CURLE_OK) \
			return setopt_failed((slot)->req, #option, setopt_rc_); \
	} while (0)

static const char *const engine_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

/* Writes why an option could not be set into the request's error; returns false. */
static bool
setopt_failed(HttpRequest *req, const char *option, CURLcode rc)
{
	snprintf(req->result.error, HTTP_ERROR_LEN, "could not set %s: %s", option, curl_easy_strerror(rc));
	return false;
}

/* True when one of the caller's header lines is the header name (any case). */
static bool
has_header(const HttpRequest *req, const char *name)
{
	size_t		len = strlen(name);

	for (int i = 0; i < req->nheaders; i++)
		if (pg_strncasecmp(req->headers[i], name, len) == 0 && req->headers[i][len] == ':')
			return true;
	return false;
}

/* Appends one line to the slot's header list; false when out of memory. */
static bool
append_header(EngineSlot *slot, const char *line)
{
	struct curl_slist *list = curl_slist_append(slot->headers, line);

	if (list == NULL)
		return false;
	slot->headers = list;
	return true;
}

/* Builds the header list of req into slot->headers; false when out of memory. */
static bool
build_headers(EngineSlot *slot, HttpRequest *req)
{
	/* No "Expect: 100-continue" round trip before a body. */
	if (!append_header(slot, "Expect:"))
		return false;
	/* libcurl would label a POST body form-urlencoded; send only the caller's Content-Type. */
	if (!has_header(req, "Content-Type") && !append_header(slot, "Content-Type:"))
		return false;
	for (int i = 0; i < req->nheaders; i++)
		if (!append_header(slot, req->headers[i]))
			return false;
	return true;
}

/* Sets the method and the request body. */
static bool
set_method(EngineSlot *slot, HttpRequest *req, const char *method)
{
	bool		sends_body = req->body != NULL ||
		strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;

	if (strcmp(method, "HEAD") == 0)
	{
		ENGINE_SETOPT(slot, CURLOPT_NOBODY, 1L);
		return true;
	}
	if (strcmp(method, "GET") == 0 && req->body == NULL)
	{
		ENGINE_SETOPT(slot, CURLOPT_HTTPGET, 1L);
		return true;
	}
	if (sends_body)
	{
		/*
		 * A large body (a part of an upload) goes through a larger buffer
		 * than libcurl's 64 kB: one pass of the transfer then hands TLS a
		 * megabyte, and the sender's loop runs a sixteenth as often.
		 */
		if (req->body_len >= ENGINE_LARGE_BODY)
			ENGINE_SETOPT(slot, CURLOPT_UPLOAD_BUFFERSIZE, (long) ENGINE_LARGE_BODY);
		/* The size first: the body is bytes, not a string. */
		ENGINE_SETOPT(slot, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (req->body ? req->body_len : 0));
		ENGINE_SETOPT(slot, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (strcmp(method, "POST") != 0)
		ENGINE_SETOPT(slot, CURLOPT_CUSTOMREQUEST, method);
	return true;
}

/* Sets every option of the transfer of req on slot's easy handle. */
static bool
set_options(EngineSlot *slot, HttpRequest *req, const char *method, bool http2)
{
	bool		https = pg_strncasecmp(req->url, "https:", 6) == 0;

	ENGINE_SETOPT(slot, CURLOPT_URL, req->url);
	ENGINE_SETOPT(slot, CURLOPT_PRIVATE, (void *) slot);
	ENGINE_SETOPT(slot, CURLOPT_NOSIGNAL, 1L);
	ENGINE_SETOPT(slot, CURLOPT_ERRORBUFFER, slot->errbuf);
	ENGINE_SETOPT(slot, CURLOPT_HTTPHEADER, slot->headers);
	ENGINE_SETOPT(slot, CURLOPT_USERAGENT, ENGINE_USER_AGENT);

	ENGINE_SETOPT(slot, CURLOPT_PROXY, "");
	ENGINE_SETOPT(slot, CURLOPT_NOPROXY, "*");
	ENGINE_SETOPT(slot, CURLOPT_PROTOCOLS_STR, http_allow_http ? "http,https" : "https");
	ENGINE_SETOPT(slot, CURLOPT_FOLLOWLOCATION, 0L);
	ENGINE_SETOPT(slot, CURLOPT_SSL_VERIFYPEER, 1L);
	ENGINE_SETOPT(slot, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_ca_file && http_ca_file[0])
		ENGINE_SETOPT(slot, CURLOPT_CAINFO, http_ca_file);

	/* HTTP/2 when the server offers it in TLS (ALPN), else HTTP/1.1. */
	ENGINE_SETOPT(slot, CURLOPT_HTTP_VERSION,
				  (long) (http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1));
	/* Wait for a connection being set up to the same host if it may multiplex (known after TLS). */
	if (http2 && https)
		ENGINE_SETOPT(slot, CURLOPT_PIPEWAIT, 1L);

	ENGINE_SETOPT(slot, CURLOPT_CONNECTTIMEOUT_MS,
				  (long) (req->connect_timeout_ms > 0 ? req->connect_timeout_ms : http_connect_timeout_ms));
	ENGINE_SETOPT(slot, CURLOPT_TIMEOUT_MS,
				  (long) (req->timeout_ms > 0 ? req->timeout_ms : http_timeout_ms));
	ENGINE_SETOPT(slot, CURLOPT_TCP_NODELAY, 1L);

	/* A declared length past the cap fails before the body is read. */
	if (!req->truncate_ok)
		ENGINE_SETOPT(slot, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) slot->cap);
	ENGINE_SETOPT(slot, CURLOPT_WRITEFUNCTION, engine_write);
	ENGINE_SETOPT(slot, CURLOPT_WRITEDATA, (void *) slot);
	ENGINE_SETOPT(slot, CURLOPT_HEADERFUNCTION, engine_header);
	ENGINE_SETOPT(slot, CURLOPT_HEADERDATA, (void *) slot);

	if (req->guarded)
	{
		ENGINE_SETOPT(slot, CURLOPT_OPENSOCKETFUNCTION, engine_open_socket);
		ENGINE_SETOPT(slot, CURLOPT_OPENSOCKETDATA, (void *) slot);
		ENGINE_SETOPT(slot, CURLOPT_PREREQFUNCTION, engine_prereq);
		ENGINE_SETOPT(slot, CURLOPT_PREREQDATA, (void *) slot);
	}
	return set_method(slot, req, method);
}

/*
 * Prepares slot to carry req: checks the URL (the full guard when req is
 * guarded, the scheme and spelling otherwise), calls the start callback, and
 * sets the transfer up.  False, with the request's result saying why, when
 * the request cannot start.  Never raises.
 */
bool
engine_prepare(EngineSlot *slot, HttpRequest *req, MemoryContext mcxt, bool http2)
{
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];
	const char *method = req->method ? req->method : "POST";
	bool		known = false;

	slot->req = req;
	slot->mcxt = mcxt;
	slot->cap = req->max_response > 0 ? Min(req->max_response, ENGINE_CAP_MAX) : HTTP_MAX_RESPONSE_DEFAULT;
	slot->body_room = 0;
	slot->header_room = 0;
	slot->header_bytes = 0;
	slot->in_headers = false;
	slot->drained = 0;
	slot->drain_stop = false;
	slot->failed = false;
	slot->refusal[0] = '\0';
	slot->errbuf[0] = '\0';

	for (int i = 0; i < lengthof(engine_methods); i++)
		known = known || strcmp(method, engine_methods[i]) == 0;
	if (!known)
	{
		snprintf(req->result.error, HTTP_ERROR_LEN, "method \"%.32s\" is not supported", method);
		return false;
	}
	if (req->url == NULL)
	{
		snprintf(req->result.error, HTTP_ERROR_LEN, "URL is missing");
		return false;
	}
	if (!(req->guarded ? url_guard_check(http_guard_policy(), req->url, &target, reason) :
		  url_guard_check_form(http_guard_policy(), req->url, &target, reason)))
	{
		req->result.refused = true;
		snprintf(req->result.error, HTTP_ERROR_LEN, "refused: %s", reason);
		return false;
	}

	if (req->on_start)
		req->on_start(req, req->on_start_arg);

	if (slot->easy == NULL)
		slot->easy = curl_easy_init();
	else
		curl_easy_reset(slot->easy);
	if (slot->easy == NULL || !build_headers(slot, req))
	{
		snprintf(req->result.error, HTTP_ERROR_LEN, "out of memory");
		return false;
	}
	return set_options(slot, req, method, http2);
}
