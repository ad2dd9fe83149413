/*
 * url_guard.h
 *		The SSRF guard for every URL a tenant can set.
 *
 * Backend-free: libc and libcurl's URL parser (no network), never raises,
 * never allocates beyond what it frees, so it is safe outside a
 * transaction and can be fuzzed outside the server.  The URL is split by
 * the same parser that later connects, so the guard and the connection
 * never disagree about which host a URL names.
 */
#ifndef WIB_URL_GUARD_H
#define WIB_URL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "http/addr_guard.h"

#define URL_GUARD_MAX_URL		2048
#define URL_GUARD_HOST_LEN		256
#define URL_GUARD_REASON_LEN	ADDR_GUARD_REASON_LEN

/* What the operator allows beyond the rules (wib.http_allow_http, wib.http_allow_cidrs). */
typedef struct UrlGuardPolicy
{
	bool		allow_http;
	const HttpCidrList *allow;	/* may be NULL */
} UrlGuardPolicy;

/* What the guard learnt about a URL it accepted. */
typedef struct UrlTarget
{
	char		host[URL_GUARD_HOST_LEN];	/* as curl sees it, e.g. "[::1]" or "example.com" */
	char		bare_host[URL_GUARD_HOST_LEN];	/* without brackets or trailing dots */
	int			port;
	bool		is_literal;		/* host is an IP address, however spelt */
} UrlTarget;

/*
 * Checks a URL without touching the network: scheme, credentials, host
 * spelling, and the address when the host is a literal (or localhost).
 * Returns true when allowed; otherwise false with the reason in reason
 * (URL_GUARD_REASON_LEN bytes).
 */
extern bool url_guard_check(const UrlGuardPolicy *policy, const char *url,
							UrlTarget *target, char *reason);

/*
 * The same checks without the address rules (literal addresses and localhost
 * pass), for operator-configured provider URLs: https only (unless
 * allow_http), no credentials, a host spelt plainly.
 */
extern bool url_guard_check_form(const UrlGuardPolicy *policy, const char *url,
								 UrlTarget *target, char *reason);

/* NULL when the address may be reached, else a reason written to reason (see addr_guard.h). */
extern const char *url_guard_check_address(const UrlGuardPolicy *policy,
										   const struct sockaddr *sa, char *reason);

#endif							/* WIB_URL_GUARD_H */
