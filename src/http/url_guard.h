/*
 * url_guard.h
 *		The SSRF guard (PROTOCOLS.md §2) for every URL a tenant can set.
 */
#ifndef WIB_URL_GUARD_H
#define WIB_URL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define URL_GUARD_MAX_URL		2048
#define URL_GUARD_HOST_LEN		256
#define URL_GUARD_REASON_LEN	256

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
 * Returns true when allowed; otherwise false with the reason in reason.
 * Never raises and never pallocs, so it is safe outside a transaction.
 */
extern bool url_guard_check(const char *url, UrlTarget *target, char *reason);

/*
 * The same checks without the address rules (literal addresses and localhost
 * pass), for operator-configured provider URLs: https only (unless
 * wib.http_allow_http), no credentials, a host spelt plainly.
 */
extern bool url_guard_check_form(const char *url, UrlTarget *target, char *reason);

/*
 * NULL when the address may be reached, else a reason written to reason.
 * Never raises and never pallocs: the HTTP engine calls it from libcurl's
 * open-socket callback for every address it connects to.
 */
extern const char *url_guard_check_address(const struct sockaddr *sa, char *reason);

#endif							/* WIB_URL_GUARD_H */
