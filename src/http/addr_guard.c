/*
 * addr_guard.c
 *		The address rules of the SSRF guard: every special-purpose range of
 *		the IANA IPv4 and IPv6 registries that a public service never lives
 *		in, with IPv4 carried inside IPv6 judged as IPv4.
 */
#include "http/addr_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct BlockedRange
{
	HttpCidr	cidr;
	const char *text;
	const char *what;
} BlockedRange;

#define V4(a, b, c, d, n)	{AF_INET, {a, b, c, d}, n}
#define V6(n, ...)			{AF_INET6, {__VA_ARGS__}, n}

/* The blocked ranges, as bytes (test/kernels/url_guard_test.c checks them against their text). */
static const BlockedRange blocked[] = {
	{V4(0, 0, 0, 0, 8), "0.0.0.0/8", "\"this\" network"},
	{V4(10, 0, 0, 0, 8), "10.0.0.0/8", "private"},
	{V4(100, 64, 0, 0, 10), "100.64.0.0/10", "shared address space"},
	{V4(127, 0, 0, 0, 8), "127.0.0.0/8", "loopback"},
	{V4(169, 254, 0, 0, 16), "169.254.0.0/16", "link-local"},
	{V4(172, 16, 0, 0, 12), "172.16.0.0/12", "private"},
	{V4(192, 0, 0, 0, 24), "192.0.0.0/24", "IETF protocol assignments"},
	{V4(192, 0, 2, 0, 24), "192.0.2.0/24", "documentation"},
	{V4(192, 88, 99, 0, 24), "192.88.99.0/24", "6to4 relay anycast"},
	{V4(192, 168, 0, 0, 16), "192.168.0.0/16", "private"},
	{V4(198, 18, 0, 0, 15), "198.18.0.0/15", "benchmarking"},
	{V4(198, 51, 100, 0, 24), "198.51.100.0/24", "documentation"},
	{V4(203, 0, 113, 0, 24), "203.0.113.0/24", "documentation"},
	{V4(224, 0, 0, 0, 4), "224.0.0.0/4", "multicast"},
	{V4(240, 0, 0, 0, 4), "240.0.0.0/4", "reserved"},
	{V4(255, 255, 255, 255, 32), "255.255.255.255/32", "broadcast"},
	{V6(128, 0), "::/128", "unspecified"},
	{V6(128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "::1/128", "loopback"},
	{V6(96, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0), "::ffff:0:0:0/96", "IPv4-translated (SIIT)"},
	{V6(48, 0, 0x64, 0xff, 0x9b, 0, 1), "64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)"},
	{V6(64, 0x01, 0x00), "100::/64", "discard-only"},
	{V6(23, 0x20, 0x01), "2001::/23", "IETF protocol assignments (Teredo, ORCHID, benchmarking)"},
	{V6(32, 0x20, 0x01, 0x0d, 0xb8), "2001:db8::/32", "documentation"},
	{V6(20, 0x3f, 0xff), "3fff::/20", "documentation"},
	{V6(16, 0x5f, 0x00), "5f00::/16", "segment routing (SRv6) SIDs"},
	{V6(7, 0xfc), "fc00::/7", "unique local"},
	{V6(10, 0xfe, 0x80), "fe80::/10", "link-local"},
	{V6(10, 0xfe, 0xc0), "fec0::/10", "site-local (deprecated)"},
	{V6(8, 0xff), "ff00::/8", "multicast"},
};

/* Parses "address[/prefix]" into raw bytes; false when malformed. */
bool
addr_guard_parse_cidr(const char *text, HttpCidr *out)
{
	char		buf[128];
	char	   *slash;
	int			max_prefix;
	size_t		len = strlen(text);

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, text, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
	{
		out->family = AF_INET;
		max_prefix = 32;
	}
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
	{
		out->family = AF_INET6;
		max_prefix = 128;
	}
	else
		return false;
	out->prefix = max_prefix;
	if (slash)
	{
		char	   *end;
		long		n = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || n < 0 || n > max_prefix)
			return false;
		out->prefix = (int) n;
	}
	return true;
}

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
bool
addr_guard_in_cidr(int family, const uint8_t *addr, const HttpCidr *c)
{
	return c->family == family && prefix_match(addr, c->addr, c->prefix);
}

/* Checks raw address bytes; NULL when allowed, else writes and returns the reason. */
const char *
addr_guard_check(int family, const uint8_t *addr, const HttpCidrList *allow, char *reason)
{
	char		text[INET6_ADDRSTRLEN];

	for (int i = 0; allow != NULL && i < allow->count; i++)
		if (addr_guard_in_cidr(family, addr, &allow->cidrs[i]))
			return NULL;

	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
	{
		if (addr_guard_in_cidr(family, addr, &blocked[i].cidr))
		{
			if (inet_ntop(family, addr, text, sizeof(text)) == NULL)
				text[0] = '\0';
			snprintf(reason, ADDR_GUARD_REASON_LEN,
					 "address %s is in the blocked range %s (%s)",
					 text, blocked[i].text, blocked[i].what);
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
			return addr_guard_check(AF_INET, addr + 12, allow, reason);
		if (addr[0] == 0x20 && addr[1] == 0x02)
			return addr_guard_check(AF_INET, addr + 2, allow, reason);
	}
	return NULL;
}

/* The i-th blocked range, for tests; false past the last. */
bool
addr_guard_blocked_range(int i, HttpCidr *cidr, const char **text)
{
	if (i < 0 || (size_t) i >= sizeof(blocked) / sizeof(blocked[0]))
		return false;
	*cidr = blocked[i].cidr;
	*text = blocked[i].text;
	return true;
}

/* NULL when a socket address may be reached, else the reason. */
const char *
addr_guard_check_sockaddr(const struct sockaddr *sa, const HttpCidrList *allow, char *reason)
{
	if (sa->sa_family == AF_INET)
		return addr_guard_check(AF_INET, (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr,
								allow, reason);
	if (sa->sa_family == AF_INET6)
		return addr_guard_check(AF_INET6, (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr,
								allow, reason);
	snprintf(reason, ADDR_GUARD_REASON_LEN, "address family %d is not allowed", sa->sa_family);
	return reason;
}
