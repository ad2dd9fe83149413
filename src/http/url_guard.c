/*
 * url_guard.c
 *		The SSRF guard: which URLs and addresses outbound requests may reach.
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
#include "postgres.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "http/http_settings.h"
#include "http/url_guard.h"

typedef struct BlockedRange
{
	int			family;
	const char *cidr;
	const char *what;
	HttpCidr	parsed;
} BlockedRange;

static BlockedRange blocked[] = {
	{AF_INET, "0.0.0.0/8", "\"this\" network"},
	{AF_INET, "10.0.0.0/8", "private"},
	{AF_INET, "100.64.0.0/10", "shared address space"},
	{AF_INET, "127.0.0.0/8", "loopback"},
	{AF_INET, "169.254.0.0/16", "link-local"},
	{AF_INET, "172.16.0.0/12", "private"},
	{AF_INET, "192.0.0.0/24", "IETF protocol assignments"},
	{AF_INET, "192.0.2.0/24", "documentation"},
	{AF_INET, "192.88.99.0/24", "6to4 relay anycast"},
	{AF_INET, "192.168.0.0/16", "private"},
	{AF_INET, "198.18.0.0/15", "benchmarking"},
	{AF_INET, "198.51.100.0/24", "documentation"},
	{AF_INET, "203.0.113.0/24", "documentation"},
	{AF_INET, "224.0.0.0/4", "multicast"},
	{AF_INET, "240.0.0.0/4", "reserved"},
	{AF_INET, "255.255.255.255/32", "broadcast"},
	{AF_INET6, "::/128", "unspecified"},
	{AF_INET6, "::1/128", "loopback"},
	{AF_INET6, "::ffff:0:0:0/96", "IPv4-translated (SIIT)"},
	{AF_INET6, "64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)"},
	{AF_INET6, "100::/64", "discard-only"},
	{AF_INET6, "2001::/23", "IETF protocol assignments (Teredo, ORCHID, benchmarking)"},
	{AF_INET6, "2001:db8::/32", "documentation"},
	{AF_INET6, "3fff::/20", "documentation"},
	{AF_INET6, "5f00::/16", "segment routing (SRv6) SIDs"},
	{AF_INET6, "fc00::/7", "unique local"},
	{AF_INET6, "fe80::/10", "link-local"},
	{AF_INET6, "fec0::/10", "site-local (deprecated)"},
	{AF_INET6, "ff00::/8", "multicast"},
};

static bool blocked_parsed = false;

/* True when the first prefix bits of a and b agree. */
static bool
prefix_match(const uint8_t *a, const uint8_t *b, int prefix)
{
	int			full = prefix / 8;
	int			rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xFF << (8 - rest))) == 0;
}

/* True when addr (of family) lies in the CIDR c. */
static bool
in_cidr(int family, const uint8_t *addr, const HttpCidr *c)
{
	return c->family == family && prefix_match(addr, c->addr, c->prefix);
}

/* True when wib.http_allow_cidrs lets addr through. */
static bool
allowed_by_setting(int family, const uint8_t *addr)
{
	const HttpCidrList *list = http_allow_cidrs();

	for (int i = 0; i < list->count; i++)
		if (in_cidr(family, addr, &list->cidrs[i]))
			return true;
	return false;
}

/* Checks raw address bytes; NULL when allowed, else writes and returns the reason. */
static const char *
check_raw(int family, const uint8_t *addr, char *reason)
{
	char		text[INET6_ADDRSTRLEN];

	if (!blocked_parsed)
	{
		for (int i = 0; i < lengthof(blocked); i++)
			(void) http_parse_cidr(blocked[i].cidr, &blocked[i].parsed);
		blocked_parsed = true;
	}
	if (allowed_by_setting(family, addr))
		return NULL;

	for (int i = 0; i < lengthof(blocked); i++)
	{
		if (in_cidr(family, addr, &blocked[i].parsed))
		{
			inet_ntop(family, addr, text, sizeof(text));
			snprintf(reason, URL_GUARD_REASON_LEN,
					 "address %s is in the blocked range %s (%s)",
					 text, blocked[i].cidr, blocked[i].what);
			return reason;
		}
	}

	if (family == AF_INET6)
	{
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
		static const uint8_t compat[12] = {0};
		static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};

		/*
		 * Addresses that carry an IPv4 address are judged by it: mapped,
		 * the deprecated IPv4-compatible ::a.b.c.d, NAT64 and 6to4.
		 */
		if (memcmp(addr, mapped, 12) == 0 || memcmp(addr, compat, 12) == 0 ||
			memcmp(addr, nat64, 12) == 0)
			return check_raw(AF_INET, addr + 12, reason);
		if (addr[0] == 0x20 && addr[1] == 0x02)
			return check_raw(AF_INET, addr + 2, reason);
	}
	return NULL;
}

/* NULL when a socket address may be reached, else the reason (see url_guard.h). */
const char *
url_guard_check_address(const struct sockaddr *sa, char *reason)
{
	if (sa->sa_family == AF_INET)
		return check_raw(AF_INET, (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr, reason);
	if (sa->sa_family == AF_INET6)
		return check_raw(AF_INET6, (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr, reason);
	snprintf(reason, URL_GUARD_REASON_LEN, "address family %d is not allowed", sa->sa_family);
	return reason;
}

/* True for names that always mean this machine (RFC 6761). */
static bool
is_localhost_name(const char *host)
{
	size_t		len = strlen(host);

	return pg_strcasecmp(host, "localhost") == 0 ||
		(len > 10 && pg_strcasecmp(host + len - 10, ".localhost") == 0);
}

/* True when host is made only of what a numeric IPv4 spelling uses. */
static bool
looks_numeric(const char *host)
{
	for (const char *p = host; *p; p++)
		if (!(isxdigit((unsigned char) *p) || *p == '.' || *p == 'x' || *p == 'X'))
			return false;
	/* Hex letters alone spell names ("cafe.de" is a name); a digit or 0x must lead some label. */
	for (const char *p = host; *p;)
	{
		if (isdigit((unsigned char) *p))
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
	strlcpy(reason, text, URL_GUARD_REASON_LEN);
	return false;
}

/*
 * Checks a host spelling; fills bare_host and is_literal, and with addresses
 * checks literal addresses (and localhost) against the blocked ranges.
 */
static bool
check_host(const char *host, UrlTarget *target, char *reason, bool addresses)
{
	char	   *bare = target->bare_host;
	size_t		len;
	uint8_t		addr[16];
	struct in_addr v4;

	if (strlen(host) >= URL_GUARD_HOST_LEN)
		return fail(reason, "host is too long");
	if (host[0] == '[')
	{
		strlcpy(bare, host + 1, URL_GUARD_HOST_LEN);
		len = strlen(bare);
		if (len == 0 || bare[len - 1] != ']')
			return fail(reason, "host is not a valid IPv6 literal");
		bare[len - 1] = '\0';
		if (inet_pton(AF_INET6, bare, addr) != 1)
			return fail(reason, "host is not a valid IPv6 literal (zone ids are not allowed)");
		target->is_literal = true;
		return !addresses || check_raw(AF_INET6, addr, reason) == NULL;
	}

	strlcpy(bare, host, URL_GUARD_HOST_LEN);
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
		return !addresses || check_raw(AF_INET, (const uint8_t *) &v4, reason) == NULL;
	}
	if (addresses && is_localhost_name(bare))
	{
		static const uint8_t loop4[4] = {127, 0, 0, 1};
		static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

		if (check_raw(AF_INET, loop4, reason) != NULL || check_raw(AF_INET6, loop6, reason) != NULL)
			return false;
		return true;
	}
	for (const char *p = bare; *p; p++)
		if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '.' || *p == '_'))
			return fail(reason, "host contains characters a host name cannot have");
	return true;
}

/* Checks a URL without the network; literal addresses too when addresses is set. */
static bool
check_url(const char *url, UrlTarget *target, char *reason, bool addresses)
{
	CURLU	   *h;
	char	   *scheme = NULL,
			   *host = NULL,
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
	curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);

	if (scheme == NULL ||
		!(strcmp(scheme, "https") == 0 || (http_allow_http && strcmp(scheme, "http") == 0)))
		fail(reason, http_allow_http ? "scheme must be https or http" : "scheme must be https");
	else if (user != NULL || password != NULL)
		fail(reason, "credentials in the URL are not allowed");
	else if (host == NULL || host[0] == '\0')
		fail(reason, "host is missing");
	else if (check_host(host, target, reason, addresses))
	{
		strlcpy(target->host, host, URL_GUARD_HOST_LEN);
		target->port = port ? atoi(port) : 443;
		ok = true;
	}

done:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_free(port);
	curl_url_cleanup(h);
	return ok;
}

/* Checks a URL without the network: scheme, credentials, host spelling, literal addresses. */
bool
url_guard_check(const char *url, UrlTarget *target, char *reason)
{
	return check_url(url, target, reason, true);
}

/* Checks scheme, credentials and host spelling only, for operator-configured URLs. */
bool
url_guard_check_form(const char *url, UrlTarget *target, char *reason)
{
	return check_url(url, target, reason, false);
}

PG_FUNCTION_INFO_V1(wib_url_check);

/* wib.url_check(url): NULL when tenants may use the URL, else why not. */
Datum
wib_url_check(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];

	if (url_guard_check(url, &target, reason))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}
