/*
 * url_guard_fuzz.c
 *		libFuzzer target of the SSRF guard (src/http/url_guard.c and
 *		src/http/addr_guard.c).
 *
 * Properties:
 *	- any bytes as a URL, under any policy: the guard answers without
 *	  crashing; what it accepts, the form check (no address rules) accepts
 *	  too; an accepted literal host is an address the address rules allow;
 *	- an address from the input (IPv4, IPv6, IPv4 inside IPv6, or the name
 *	  localhost), spelt as the input chooses (decimal, octal and hex parts,
 *	  2, 3 or 4 of them or one number, leading zeros, upper and lower case,
 *	  percent-encoding, trailing dots, :: anywhere it may go, a dotted IPv4
 *	  tail, a port, a path) with a policy from the input (plain http,
 *	  allowed CIDRs): the verdict on the URL is exactly the verdict of the
 *	  address rules on the address; spellings that carry more than the
 *	  address (credentials, a zone id, http without allow_http) are never
 *	  accepted for an address the rules refuse.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o url_guard_fuzz \
 *   test/fuzz/url_guard_fuzz.c src/http/url_guard.c src/http/addr_guard.c -lcurl
 * Run:   ./url_guard_fuzz -max_total_time=60 test/fuzz/corpus/url_guard   (or make fuzz)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/addr_guard.h"
#include "http/url_guard.h"

static void
fail(const char *what, const char *url, const char *reason)
{
	fprintf(stderr, "url_guard_fuzz: %s\n  url: %s\n  reason: %s\n", what, url, reason ? reason : "(accepted)");
	abort();
}

typedef struct Input
{
	const uint8_t *p;
	const uint8_t *end;
} Input;

static unsigned
take(Input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* Appends to a bounded string. */
static void
put(char *out, size_t size, const char *fmt, const char *s)
{
	size_t		n = strlen(out);

	snprintf(out + n, size - n, fmt, s);
}

/* One IPv4 part of value v in a base the input picks, with leading zeros it may add. */
static void
ipv4_part(Input *in, uint32_t v, char *out, size_t size)
{
	unsigned	how = take(in);
	char		digits[24];
	char		zeros[4] = "";

	memset(zeros, '0', how >> 6);
	zeros[how >> 6] = '\0';
	switch (how % 3)
	{
		case 0:					/* decimal: no leading zeros, they would make it octal */
			snprintf(digits, sizeof(digits), "%u", v);
			break;
		case 1:					/* octal */
			snprintf(digits, sizeof(digits), "0%s%o", zeros, v);
			break;
		default:				/* hex, either case */
			snprintf(digits, sizeof(digits), "0%c%s%x", (how & 4) ? 'X' : 'x', zeros, v);
			if (how & 8)
				for (char *p = digits + 2; *p; p++)
					if (*p >= 'a' && *p <= 'f')
						*p -= 'a' - 'A';
			break;
	}
	put(out, size, "%s", digits);
}

/* a.b.c.d as 4, 3, 2 or 1 parts (the last one taking the rest of the bits). */
static void
ipv4_host(Input *in, const uint8_t *a, char *out, size_t size)
{
	uint32_t	v = (uint32_t) a[0] << 24 | (uint32_t) a[1] << 16 | (uint32_t) a[2] << 8 | a[3];
	unsigned	parts = 4 - take(in) % 4;

	for (unsigned i = 0; i < parts - 1; i++)
	{
		ipv4_part(in, a[i], out, size);
		put(out, size, "%s", ".");
	}
	ipv4_part(in, parts == 4 ? a[3] : v & (0xFFFFFFFFu >> (8 * (parts - 1))), out, size);
}

/* An IPv6 address in brackets: groups with leading zeros and either case, :: over some zero run, maybe a dotted tail. */
static void
ipv6_host(Input *in, const uint8_t *a, char *out, size_t size)
{
	unsigned	how = take(in);
	bool		dotted = (how & 1) != 0;
	int			ngroups = dotted ? 6 : 8;
	int			run_start = -1,
				run_len = 0;
	uint16_t	g[8];

	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t) (a[2 * i] << 8 | a[2 * i + 1]);

	/* Which zero groups (some consecutive ones, maybe only part of a run) become "::", if any. */
	if (how & 2)
	{
		int			zeros[8];
		int			nzeros = 0;

		for (int i = 0; i < ngroups; i++)
			if (g[i] == 0)
				zeros[nzeros++] = i;
		if (nzeros > 0)
		{
			run_start = zeros[take(in) % nzeros];
			run_len = 1;
			while (run_start + run_len < ngroups && g[run_start + run_len] == 0 && take(in) % 4 != 0)
				run_len++;
		}
	}
	put(out, size, "%s", "[");
	for (int i = 0; i < ngroups; i++)
	{
		char		group[16];
		unsigned	style = take(in);

		if (i == run_start)
		{
			put(out, size, "%s", "::");
			i += run_len - 1;
			continue;
		}
		if (i > 0 && i != run_start + run_len)
			put(out, size, "%s", ":");
		snprintf(group, sizeof(group), (style & 1) ? "%0*X" : "%0*x", 1 + (int) (style >> 1) % 4, g[i]);
		put(out, size, "%s", group);
	}
	if (dotted)
	{
		char		tail[20];

		if (run_start + run_len != ngroups)
			put(out, size, "%s", ":");
		snprintf(tail, sizeof(tail), "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		put(out, size, "%s", tail);
	}
	put(out, size, "%s", "]");
}

/* Percent-encodes some characters of host (the input says which), as a URL may. */
static void
percent_some(Input *in, const char *host, char *out, size_t size)
{
	size_t		n = 0;

	for (const char *p = host; *p && n + 4 < size; p++)
	{
		if (*p != '[' && *p != ']' && *p != ':' && take(in) % 4 == 0)
			n += snprintf(out + n, size - n, (take(in) & 1) ? "%%%02X" : "%%%02x", (unsigned char) *p);
		else
			out[n++] = *p;
	}
	out[n] = '\0';
}

/* A CIDR for the allow list: the address itself under a prefix, or bytes of the input. */
static void
take_cidr(Input *in, int family, const uint8_t *addr, HttpCidr *c)
{
	unsigned	how = take(in);

	memset(c, 0, sizeof(*c));
	c->family = (how & 1) ? family : (family == AF_INET ? AF_INET6 : AF_INET);
	for (int i = 0; i < 16; i++)
		c->addr[i] = (how & 2) && c->family == family ? addr[i] : (uint8_t) take(in);
	c->prefix = take(in) % ((c->family == AF_INET ? 32 : 128) + 1);
}

/* Arbitrary bytes as a URL. */
static void
check_bytes(const uint8_t *data, size_t size, const UrlGuardPolicy *policy)
{
	char	   *url = malloc(size + 1);
	char		reason[URL_GUARD_REASON_LEN];
	UrlTarget	target;
	bool		ok;

	memcpy(url, data, size);
	url[size] = '\0';
	ok = url_guard_check(policy, url, &target, reason);
	if (ok)
	{
		uint8_t		addr[16];
		struct in_addr v4;
		char		reason2[URL_GUARD_REASON_LEN];

		if (target.host[0] == '\0' || target.port <= 0)
			fail("an accepted URL without a host or port", url, NULL);
		if (target.is_literal &&
			!((inet_pton(AF_INET6, target.bare_host, addr) == 1 &&
			   addr_guard_check(AF_INET6, addr, policy->allow, reason2) == NULL) ||
			  (inet_aton(target.bare_host, &v4) != 0 &&
			   addr_guard_check(AF_INET, (uint8_t *) &v4, policy->allow, reason2) == NULL)))
			fail("an accepted literal host is an address the rules refuse", url, NULL);
		if (!url_guard_check_form(policy, url, &target, reason))
			fail("the form check refuses what the full check accepts", url, reason);
	}
	else
		(void) url_guard_check_form(policy, url, &target, reason);
	free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, data + size};
	unsigned	head = take(&in);
	HttpCidrList allow;
	UrlGuardPolicy policy = {(head & 1) != 0, &allow};
	uint8_t		addr[16] = {0};
	int			family;
	char		host[160] = "";
	char		spelt[480];
	char		url[640];
	char		reason[URL_GUARD_REASON_LEN];
	char		expected_reason[URL_GUARD_REASON_LEN];
	UrlTarget	target;
	bool		expected;
	enum
	{
		EXACT,					/* the verdict is the rules' verdict on the address */
		LOSSY,					/* a spelling URL parsers may refuse: never accepted when the rules refuse */
		REFUSED					/* more than the address: never accepted */
	}			spelling = EXACT;
	bool		verdict;
	unsigned	kind = (head >> 1) % 8;

	/* The address, and the rules' verdict on it. */
	if (kind < 3)
	{
		family = AF_INET;
		for (int i = 0; i < 4; i++)
			addr[i] = (uint8_t) take(&in);
	}
	else
	{
		family = AF_INET6;
		for (int i = 0; i < 16; i++)
			addr[i] = (uint8_t) take(&in);
		if (kind == 5)			/* IPv4 carried in IPv6 */
		{
			static const uint8_t prefixes[3][12] = {
				{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF},
				{0},
				{0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0},
			};

			memcpy(addr, prefixes[take(&in) % 3], 12);
		}
		else if (kind == 6)		/* 6to4 */
			addr[0] = 0x20, addr[1] = 0x02;
	}
	allow.count = take(&in) % 3;
	for (int i = 0; i < allow.count; i++)
		take_cidr(&in, family, addr, &allow.cidrs[i]);

	check_bytes(in.p, in.end - in.p, &policy);

	if (kind == 7)
	{
		static const uint8_t loop4[4] = {127, 0, 0, 1};
		static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		static const char *const names[] = {"localhost", "LocalHost", "api.localhost", "x.y.LOCALHOST"};

		snprintf(host, sizeof(host), "%s", names[take(&in) % 4]);
		expected = addr_guard_check(AF_INET, loop4, &allow, expected_reason) == NULL &&
			addr_guard_check(AF_INET6, loop6, &allow, expected_reason) == NULL;
	}
	else
	{
		expected = addr_guard_check(family, addr, &allow, expected_reason) == NULL;
		if (family == AF_INET)
			ipv4_host(&in, addr, host, sizeof(host));
		else
			ipv6_host(&in, addr, host, sizeof(host));
	}

	/* Around the host: trailing dots, percent-encoding, scheme, port, path; maybe more than the address. */
	{
		unsigned	how = take(&in);
		const char *scheme = policy.allow_http && (how & 1) ? "http" : "https";
		char		extra[64] = "";
		char		after[64] = "/";

		if (host[0] != '[')
			for (unsigned i = 0; i < (how >> 1) % 3; i++)
				put(host, sizeof(host), "%s", ".");
		if (how & 8)
		{
			/* RFC 3986 has no percent-encoding inside an IP literal's brackets. */
			percent_some(&in, host, spelt, sizeof(spelt));
			if (host[0] == '[')
				spelling = LOSSY;
		}
		else
			snprintf(spelt, sizeof(spelt), "%s", host);
		if (how & 16)
			snprintf(after, sizeof(after), ":%u/%s", 1 + (take(&in) << 8 | take(&in)) % 65535,
					 (take(&in) & 1) ? "hooks?a=1#f" : "");
		switch ((how >> 5) % 8)
		{
			case 4:				/* credentials */
				snprintf(extra, sizeof(extra), "%s@", (take(&in) & 1) ? "user:pass" : "user");
				spelling = REFUSED;
				break;
			case 5:				/* a zone id */
				if (host[0] == '[')
				{
					spelt[strlen(spelt) - 1] = '\0';
					put(spelt, sizeof(spelt), "%s", "%25eth0]");
					spelling = REFUSED;
				}
				break;
			case 6:				/* http without allow_http */
				if (!policy.allow_http)
				{
					scheme = "http";
					spelling = REFUSED;
				}
				break;
			case 7:				/* upper-case scheme */
				scheme = strcmp(scheme, "http") == 0 ? "HTTP" : "HTTPS";
				break;
		}
		snprintf(url, sizeof(url), "%s://%s%s%s", scheme, extra, spelt, after);
	}

	verdict = url_guard_check(&policy, url, &target, reason);
	if (verdict && !expected)
		fail("a URL accepted for an address the rules refuse", url, expected_reason);
	if (spelling == EXACT && verdict != expected)
		fail("the verdict on a URL is not the rules' verdict on its address", url, verdict ? NULL : reason);
	if (spelling == REFUSED && verdict)
		fail("a URL with credentials, a zone id or a refused scheme accepted", url, NULL);
	return 0;
}
