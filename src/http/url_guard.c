/*
 * url_guard.c
 *		The SSRF guard: which URLs outbound requests may reach.
 *
 * A URL is checked twice.  When a tenant sets it (wib.url_check), without
 * the network: https only, no credentials, a host spelt plainly, and a
 * literal address outside every blocked range.  IPv4 literals are parsed the
 * way resolvers parse them (inet_aton: "127.1", "0x7f.1", "2130706433"), so an
 * odd spelling cannot slip past.  Then at connect time the HTTP engine
 * judges every address libcurl is about to connect to
 * (url_guard_check_address from its open-socket callback), so whatever DNS
 * answers, no connection to a blocked address is ever opened.
 */
#include "http/url_guard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into dst (size bytes), cut short if it must be; always NUL-terminated. */
static void
copy_text(char *dst, const char *src, size_t size)
{
	size_t		n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Lower-cases an ASCII letter; any other byte is returned as it is. */
static inline char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* True when a and b are equal, ASCII letters compared without case. */
static bool
equal_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* ASCII classes, whatever the locale (the server's may not be C). */
static inline bool
ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ascii_xdigit(char c)
{
	return ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool
ascii_alnum(char c)
{
	return ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* True for names that always mean this machine (RFC 6761). */
static bool
is_localhost_name(const char *host)
{
	size_t		len = strlen(host);

	return equal_nocase(host, "localhost") ||
		(len > 10 && equal_nocase(host + len - 10, ".localhost"));
}

/* True when host is made only of what a numeric IPv4 spelling uses. */
static bool
looks_numeric(const char *host)
{
	for (const char *p = host; *p; p++)
		if (!(ascii_xdigit(*p) || *p == '.' || *p == 'x' || *p == 'X'))
			return false;
	/* Hex letters alone spell names ("cafe.de" is a name); a digit or 0x must lead some label. */
	for (const char *p = host; *p;)
	{
		if (ascii_digit(*p))
			return true;
		p += strcspn(p, ".");
		if (*p == '.')
			p++;
	}
	return false;
}

/* Writes reason and returns false, for the checks below. */
static bool
fail(char *reason, const char *text)
{
	copy_text(reason, text, URL_GUARD_REASON_LEN);
	return false;
}

/*
 * Checks a host spelling; fills bare_host and is_literal, and with addresses
 * checks literal addresses (and localhost) against the blocked ranges.
 */
static bool
check_host(const UrlGuardPolicy *policy, const char *host, UrlTarget *target,
		   char *reason, bool addresses)
{
	char	   *bare = target->bare_host;
	size_t		len;
	uint8_t		addr[16];
	struct in_addr v4;

	if (strlen(host) >= URL_GUARD_HOST_LEN)
		return fail(reason, "host is too long");
	if (host[0] == '[')
	{
		copy_text(bare, host + 1, URL_GUARD_HOST_LEN);
		len = strlen(bare);
		if (len == 0 || bare[len - 1] != ']')
			return fail(reason, "host is not a valid IPv6 literal");
		bare[len - 1] = '\0';
		if (inet_pton(AF_INET6, bare, addr) != 1)
			return fail(reason, "host is not a valid IPv6 literal (zone ids are not allowed)");
		target->is_literal = true;
		return !addresses || addr_guard_check(AF_INET6, addr, policy->allow, reason) == NULL;
	}

	copy_text(bare, host, URL_GUARD_HOST_LEN);
	len = strlen(bare);
	while (len > 0 && bare[len - 1] == '.')
		bare[--len] = '\0';
	if (len == 0)
		return fail(reason, "host is missing");

	if (looks_numeric(bare))
	{
		/* inet_aton accepts every spelling resolvers accept: 127.1, 0x7f.1, 2130706433, 0177.0.0.1. */
		if (inet_aton(bare, &v4) == 0)
			return fail(reason, "host is neither a name nor a valid IPv4 address");
		target->is_literal = true;
		return !addresses || addr_guard_check(AF_INET, (const uint8_t *) &v4, policy->allow, reason) == NULL;
	}
	/* Names are checked for their characters first, localhost ones too. */
	for (const char *p = bare; *p; p++)
		if (!(ascii_alnum(*p) || *p == '-' || *p == '.' || *p == '_'))
			return fail(reason, "host contains characters a host name cannot have");
	if (addresses && is_localhost_name(bare))
	{
		static const uint8_t loop4[4] = {127, 0, 0, 1};
		static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

		if (addr_guard_check(AF_INET, loop4, policy->allow, reason) != NULL ||
			addr_guard_check(AF_INET6, loop6, policy->allow, reason) != NULL)
			return false;
		return true;
	}
	return true;
}

/* Checks a URL without the network; literal addresses too when addresses is set. */
static bool
check_url(const UrlGuardPolicy *policy, const char *url, UrlTarget *target,
		  char *reason, bool addresses)
{
	CURLU	   *h;
	char	   *scheme = NULL,
			   *host = NULL,
			   *zone = NULL,
			   *user = NULL,
			   *password = NULL,
			   *port = NULL;
	bool		ok = false;

	memset(target, 0, sizeof(*target));
	if (strlen(url) > URL_GUARD_MAX_URL)
		return fail(reason, "URL is longer than 2048 characters");
	for (const char *p = url; *p; p++)
		if ((unsigned char) *p <= ' ' || *p == '\\')
			return fail(reason, "URL contains spaces, control characters or backslashes");

	/* An empty authority ("https:///x") is malformed, whatever curl would make of it. */
	{
		const char *sep = strstr(url, "://");

		if (sep != NULL && (sep[3] == '/' || sep[3] == '\0'))
			return fail(reason, "host is missing");
	}

	h = curl_url();
	if (h == NULL)
		return fail(reason, "out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK)
	{
		fail(reason, "URL is malformed or its scheme is not supported");
		goto done;
	}
	curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(h, CURLUPART_USER, &user, 0);
	curl_url_get(h, CURLUPART_PASSWORD, &password, 0);
	curl_url_get(h, CURLUPART_HOST, &host, 0);
	curl_url_get(h, CURLUPART_ZONEID, &zone, 0);
	curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);

	if (scheme == NULL ||
		!(strcmp(scheme, "https") == 0 || (policy->allow_http && strcmp(scheme, "http") == 0)))
		fail(reason, policy->allow_http ? "scheme must be https or http" : "scheme must be https");
	else if (user != NULL || password != NULL)
		fail(reason, "credentials in the URL are not allowed");
	else if (host == NULL || host[0] == '\0')
		fail(reason, "host is missing");
	else if (check_host(policy, host, target, reason, addresses))
	{
		/*
		 * curl takes a zone id ("[fe80::1%25eth0]") out of the host, so the
		 * host check never sees one.  The address is judged first: a blocked
		 * one is refused for its address.
		 */
		if (zone != NULL)
			fail(reason, "host is not a valid IPv6 literal (zone ids are not allowed)");
		else if (port != NULL && atoi(port) <= 0)
			fail(reason, "port must be between 1 and 65535");
		else
		{
			copy_text(target->host, host, URL_GUARD_HOST_LEN);
			target->port = port ? atoi(port) : 443;
			ok = true;
		}
	}

done:
	curl_free(scheme);
	curl_free(host);
	curl_free(zone);
	curl_free(user);
	curl_free(password);
	curl_free(port);
	curl_url_cleanup(h);
	return ok;
}

/* Checks a URL without the network: scheme, credentials, host spelling, literal addresses. */
bool
url_guard_check(const UrlGuardPolicy *policy, const char *url, UrlTarget *target, char *reason)
{
	return check_url(policy, url, target, reason, true);
}

/* Checks scheme, credentials and host spelling only, for operator-configured URLs. */
bool
url_guard_check_form(const UrlGuardPolicy *policy, const char *url, UrlTarget *target, char *reason)
{
	return check_url(policy, url, target, reason, false);
}

/* NULL when a socket address may be reached, else the reason. */
const char *
url_guard_check_address(const UrlGuardPolicy *policy, const struct sockaddr *sa, char *reason)
{
	return addr_guard_check_sockaddr(sa, policy->allow, reason);
}
