/*
 * url_guard_test.c
 *		The SSRF guard's kernels: every URL of sql/10_webhooks.sql with the
 *		reason it gets there (byte for byte), the blocked ranges' bytes
 *		against their text, the operator's escape hatches (plain http,
 *		allowed CIDRs), addresses judged at connect time, CIDR parsing, and
 *		the cases fuzzing found (a zone id on an allowed address, port 0).
 *
 * Build: cc -I src -o url_guard_test test/kernels/url_guard_test.c src/http/url_guard.c \
 *   src/http/addr_guard.c -lcurl
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/addr_guard.h"
#include "http/url_guard.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* The URLs of sql/10_webhooks.sql and wib.url_check's answer there (NULL: allowed). */
static const struct
{
	const char *url;
	const char *reason;
}			regress[] = {
	{"https://example.com/hooks", NULL},
	{"https://hooks.zapier.com:8443/x?y=1@2", NULL},
	{"https://8.8.8.8/", NULL},
	{"https://[2606:4700:4700::1111]/", NULL},
	{"https://[::ffff:8.8.8.8]/", NULL},
	{"https://[2002:0808:0808::1]/", NULL},
	{"https://[64:ff9b::808:808]/", NULL},
	{"https://cafe.de/", NULL},
	{"https://EXAMPLE.COM./", NULL},
	{"https://0.0.0.0/", "address 0.0.0.0 is in the blocked range 0.0.0.0/8 (\"this\" network)"},
	{"https://0.255.255.255/", "address 0.255.255.255 is in the blocked range 0.0.0.0/8 (\"this\" network)"},
	{"https://10.0.0.0/", "address 10.0.0.0 is in the blocked range 10.0.0.0/8 (private)"},
	{"https://10.255.255.255/", "address 10.255.255.255 is in the blocked range 10.0.0.0/8 (private)"},
	{"https://100.64.0.0/", "address 100.64.0.0 is in the blocked range 100.64.0.0/10 (shared address space)"},
	{"https://100.127.255.255/", "address 100.127.255.255 is in the blocked range 100.64.0.0/10 (shared address space)"},
	{"https://127.0.0.1/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://127.255.255.254/", "address 127.255.255.254 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://169.254.0.0/", "address 169.254.0.0 is in the blocked range 169.254.0.0/16 (link-local)"},
	{"https://169.254.169.254/", "address 169.254.169.254 is in the blocked range 169.254.0.0/16 (link-local)"},
	{"https://172.16.0.0/", "address 172.16.0.0 is in the blocked range 172.16.0.0/12 (private)"},
	{"https://172.31.255.255/", "address 172.31.255.255 is in the blocked range 172.16.0.0/12 (private)"},
	{"https://192.0.0.0/", "address 192.0.0.0 is in the blocked range 192.0.0.0/24 (IETF protocol assignments)"},
	{"https://192.0.0.255/", "address 192.0.0.255 is in the blocked range 192.0.0.0/24 (IETF protocol assignments)"},
	{"https://192.0.2.0/", "address 192.0.2.0 is in the blocked range 192.0.2.0/24 (documentation)"},
	{"https://192.0.2.255/", "address 192.0.2.255 is in the blocked range 192.0.2.0/24 (documentation)"},
	{"https://192.88.99.0/", "address 192.88.99.0 is in the blocked range 192.88.99.0/24 (6to4 relay anycast)"},
	{"https://192.88.99.255/", "address 192.88.99.255 is in the blocked range 192.88.99.0/24 (6to4 relay anycast)"},
	{"https://192.168.0.0/", "address 192.168.0.0 is in the blocked range 192.168.0.0/16 (private)"},
	{"https://192.168.255.255/", "address 192.168.255.255 is in the blocked range 192.168.0.0/16 (private)"},
	{"https://198.18.0.0/", "address 198.18.0.0 is in the blocked range 198.18.0.0/15 (benchmarking)"},
	{"https://198.19.255.255/", "address 198.19.255.255 is in the blocked range 198.18.0.0/15 (benchmarking)"},
	{"https://198.51.100.0/", "address 198.51.100.0 is in the blocked range 198.51.100.0/24 (documentation)"},
	{"https://198.51.100.255/", "address 198.51.100.255 is in the blocked range 198.51.100.0/24 (documentation)"},
	{"https://203.0.113.0/", "address 203.0.113.0 is in the blocked range 203.0.113.0/24 (documentation)"},
	{"https://203.0.113.255/", "address 203.0.113.255 is in the blocked range 203.0.113.0/24 (documentation)"},
	{"https://224.0.0.0/", "address 224.0.0.0 is in the blocked range 224.0.0.0/4 (multicast)"},
	{"https://239.255.255.255/", "address 239.255.255.255 is in the blocked range 224.0.0.0/4 (multicast)"},
	{"https://240.0.0.0/", "address 240.0.0.0 is in the blocked range 240.0.0.0/4 (reserved)"},
	{"https://255.255.255.254/", "address 255.255.255.254 is in the blocked range 240.0.0.0/4 (reserved)"},
	{"https://255.255.255.255/", "address 255.255.255.255 is in the blocked range 240.0.0.0/4 (reserved)"},
	{"https://1.0.0.0/", NULL},
	{"https://9.255.255.255/", NULL},
	{"https://11.0.0.0/", NULL},
	{"https://100.63.255.255/", NULL},
	{"https://100.128.0.0/", NULL},
	{"https://126.255.255.255/", NULL},
	{"https://128.0.0.0/", NULL},
	{"https://172.15.255.255/", NULL},
	{"https://172.32.0.0/", NULL},
	{"https://192.0.1.0/", NULL},
	{"https://192.167.255.255/", NULL},
	{"https://198.17.255.255/", NULL},
	{"https://198.20.0.0/", NULL},
	{"https://223.255.255.255/", NULL},
	{"https://[::]/", "address :: is in the blocked range ::/128 (unspecified)"},
	{"https://[::1]/", "address ::1 is in the blocked range ::1/128 (loopback)"},
	{"https://[::ffff:127.0.0.1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[::ffff:7f00:1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[::ffff:10.1.2.3]/", "address 10.1.2.3 is in the blocked range 10.0.0.0/8 (private)"},
	{"https://[64:ff9b::7f00:1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[64:ff9b::a9fe:a9fe]/", "address 169.254.169.254 is in the blocked range 169.254.0.0/16 (link-local)"},
	{"https://[100::]/", "address 100:: is in the blocked range 100::/64 (discard-only)"},
	{"https://[100::ffff:ffff:ffff:ffff]/", "address 100::ffff:ffff:ffff:ffff is in the blocked range 100::/64 (discard-only)"},
	{"https://[2001:db8::1]/", "address 2001:db8::1 is in the blocked range 2001:db8::/32 (documentation)"},
	{"https://[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]/", "address 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff is in the blocked range 2001:db8::/32 (documentation)"},
	{"https://[fc00::1]/", "address fc00::1 is in the blocked range fc00::/7 (unique local)"},
	{"https://[fdff:ffff::1]/", "address fdff:ffff::1 is in the blocked range fc00::/7 (unique local)"},
	{"https://[fe80::1]/", "address fe80::1 is in the blocked range fe80::/10 (link-local)"},
	{"https://[febf::1]/", "address febf::1 is in the blocked range fe80::/10 (link-local)"},
	{"https://[ff00::1]/", "address ff00::1 is in the blocked range ff00::/8 (multicast)"},
	{"https://[ff02::1]/", "address ff02::1 is in the blocked range ff00::/8 (multicast)"},
	{"https://[2002:7f00:1::1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[2002:c0a8:101::1]/", "address 192.168.1.1 is in the blocked range 192.168.0.0/16 (private)"},
	{"https://[fec0::1]/", "address fec0::1 is in the blocked range fec0::/10 (site-local (deprecated))"},
	{"https://[feff:ffff::1]/", "address feff:ffff::1 is in the blocked range fec0::/10 (site-local (deprecated))"},
	{"https://[64:ff9b:1::7f00:1]/", "address 64:ff9b:1::7f00:1 is in the blocked range 64:ff9b:1::/48 (local-use IPv4/IPv6 translation (RFC 8215))"},
	{"https://[64:ff9b:1:ffff::1]/", "address 64:ff9b:1:ffff::1 is in the blocked range 64:ff9b:1::/48 (local-use IPv4/IPv6 translation (RFC 8215))"},
	{"https://[::ffff:0:7f00:1]/", "address ::ffff:0:7f00:1 is in the blocked range ::ffff:0:0:0/96 (IPv4-translated (SIIT))"},
	{"https://[::ffff:0:808:808]/", "address ::ffff:0:808:808 is in the blocked range ::ffff:0:0:0/96 (IPv4-translated (SIIT))"},
	{"https://[2001::1]/", "address 2001::1 is in the blocked range 2001::/23 (IETF protocol assignments (Teredo, ORCHID, benchmarking))"},
	{"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "address 2001:0:4136:e378:8000:63bf:3fff:fdd2 is in the blocked range 2001::/23 (IETF protocol assignments (Teredo, ORCHID, benchmarking))"},
	{"https://[2001:1ff::1]/", "address 2001:1ff::1 is in the blocked range 2001::/23 (IETF protocol assignments (Teredo, ORCHID, benchmarking))"},
	{"https://[3fff::1]/", "address 3fff::1 is in the blocked range 3fff::/20 (documentation)"},
	{"https://[5f00::1]/", "address 5f00::1 is in the blocked range 5f00::/16 (segment routing (SRv6) SIDs)"},
	{"https://[2001:200::1]/", NULL},
	{"https://[2606:4700:4700::1111]/", NULL},
	{"https://[64:ff9b:2::1]/", NULL},
	{"https://[3ffe:ffff::1]/", NULL},
	{"https://0x7f.1/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://2130706433/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://127.1/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://0177.0.0.1/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://0x7f000001/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://017700000001/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://127.0.0.1./", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://127.0.0.1../", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[::ffff:127.0.0.1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[::127.0.0.1]/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://[0:0:0:0:0:0:0:1]/", "address ::1 is in the blocked range ::1/128 (loopback)"},
	{"https://localhost/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://LOCALHOST./", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://api.localhost/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://good@127.0.0.1/", "credentials in the URL are not allowed"},
	{"https://user:pass@example.com/", "credentials in the URL are not allowed"},
	{"https://good.com@127.0.0.1/", "credentials in the URL are not allowed"},
	{"https://127.0.0.1#@good.com/", "address 127.0.0.1 is in the blocked range 127.0.0.0/8 (loopback)"},
	{"https://10.0.0.1:443/", "address 10.0.0.1 is in the blocked range 10.0.0.0/8 (private)"},
	{"https://0/", "address 0.0.0.0 is in the blocked range 0.0.0.0/8 (\"this\" network)"},
	{"https://0.0.0.0:8443/", "address 0.0.0.0 is in the blocked range 0.0.0.0/8 (\"this\" network)"},
	{"https://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is in the blocked range 169.254.0.0/16 (link-local)"},
	{"https://[fe80::1%25eth0]/", "address fe80::1 is in the blocked range fe80::/10 (link-local)"},
	{"https://256.1.1.1/", "host is neither a name nor a valid IPv4 address"},
	{"https://1.2.3.4.5/", "host is neither a name nor a valid IPv4 address"},
	{"https://0x100000000/", "host is neither a name nor a valid IPv4 address"},
	{"http://example.com/", "scheme must be https"},
	{"ftp://example.com/", "scheme must be https"},
	{"file:///etc/passwd", "host is missing"},
	{"gopher://example.com/", "scheme must be https"},
	{"example.com", "URL is malformed or its scheme is not supported"},
	{"https://", "host is missing"},
	{"https:///path", "host is missing"},
	{"https://exa mple.com/", "URL contains spaces, control characters or backslashes"},
	{"https://example.com\\@127.0.0.1/", "URL contains spaces, control characters or backslashes"},
	{"javascript:alert(1)", "URL is malformed or its scheme is not supported"},
	{"", "URL is malformed or its scheme is not supported"},
};

/* True when policy gives url the verdict want (NULL: allowed, else that reason). */
static int
judged(const UrlGuardPolicy *policy, const char *url, const char *want)
{
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];
	bool		ok = url_guard_check(policy, url, &target, reason);

	if (want == NULL ? ok : (!ok && strcmp(reason, want) == 0))
		return 1;
	printf("# %s: got %s, want %s\n", url, ok ? "(allowed)" : reason, want ? want : "(allowed)");
	return 0;
}

int
main(void)
{
	UrlGuardPolicy strict = {false, NULL};
	HttpCidrList allow = {0};
	UrlGuardPolicy hatches = {true, &allow};
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];
	char		long_url[2200];
	HttpCidr	cidr;
	HttpCidr	parsed;
	const char *text;
	int			ok;
	int			n;

	printf("1..10\n");

	ok = 1;
	for (size_t i = 0; i < sizeof(regress) / sizeof(regress[0]); i++)
		ok &= judged(&strict, regress[i].url, regress[i].reason);
	snprintf(long_url, sizeof(long_url), "https://example.com/%02100d", 0);
	ok &= judged(&strict, long_url, "URL is longer than 2048 characters");
	check(ok, "every URL of sql/10_webhooks.sql gets the verdict and reason it gets there");

	ok = 1;
	for (n = 0; addr_guard_blocked_range(n, &cidr, &text); n++)
		if (!addr_guard_parse_cidr(text, &parsed) || parsed.family != cidr.family ||
			parsed.prefix != cidr.prefix || memcmp(parsed.addr, cidr.addr, 16) != 0)
		{
			printf("# the bytes of %s are not its text\n", text);
			ok = 0;
		}
	check(ok && n == 29, "the 29 blocked ranges' bytes are what their text says");

	check(url_guard_check(&strict, "https://example.com:8443/x", &target, reason) &&
		  strcmp(target.host, "example.com") == 0 && target.port == 8443 && !target.is_literal &&
		  url_guard_check(&strict, "https://EXAMPLE.COM./", &target, reason) &&
		  strcmp(target.bare_host, "EXAMPLE.COM") == 0 && target.port == 443 &&
		  url_guard_check(&strict, "https://[2606:4700:4700::1111]/", &target, reason) &&
		  strcmp(target.host, "[2606:4700:4700::1111]") == 0 &&
		  strcmp(target.bare_host, "2606:4700:4700::1111") == 0 && target.is_literal,
		  "an accepted URL's host (as curl sees it, and bare), port and literal flag");

	/* The escape hatches of sql/10_webhooks.sql. */
	addr_guard_parse_cidr("127.0.0.0/8", &allow.cidrs[0]);
	addr_guard_parse_cidr("::1/128", &allow.cidrs[1]);
	allow.count = 2;
	check(judged(&hatches, "http://example.com/", NULL) &&
		  judged(&hatches, "ftp://example.com/", "scheme must be https or http") &&
		  judged(&hatches, "http://127.0.0.1:8080/", NULL) && judged(&hatches, "https://localhost/", NULL) &&
		  judged(&hatches, "https://10.0.0.1/", "address 10.0.0.1 is in the blocked range 10.0.0.0/8 (private)") &&
		  judged(&hatches, "https://[::ffff:127.0.0.1]/", NULL) &&
		  judged(&hatches, "https://0i\xe3.localhost/", "host contains characters a host name cannot have"),
		  "allow_http and allowed CIDRs widen exactly what they name (IPv4 inside IPv6 too), not the host name rules");
	allow.count = 1;
	check(judged(&hatches, "https://localhost/", "address ::1 is in the blocked range ::1/128 (loopback)"),
		  "localhost needs both loopbacks allowed");

	/* Addresses at connect time. */
	{
		struct sockaddr_in in4 = {0};
		struct sockaddr_in6 in6 = {0};
		struct sockaddr other = {0};

		in4.sin_family = AF_INET;
		inet_pton(AF_INET, "169.254.169.254", &in4.sin_addr);
		in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2002:a9fe:a9fe::1", &in6.sin6_addr);
		other.sa_family = AF_UNIX;
		ok = url_guard_check_address(&strict, (struct sockaddr *) &in4, reason) != NULL &&
			strcmp(reason, "address 169.254.169.254 is in the blocked range 169.254.0.0/16 (link-local)") == 0;
		ok = ok && url_guard_check_address(&strict, (struct sockaddr *) &in6, reason) != NULL &&
			strcmp(reason, "address 169.254.169.254 is in the blocked range 169.254.0.0/16 (link-local)") == 0;
		ok = ok && url_guard_check_address(&strict, &other, reason) != NULL &&
			strcmp(reason, "address family 1 is not allowed") == 0;
		inet_pton(AF_INET, "8.8.8.8", &in4.sin_addr);
		check(ok && url_guard_check_address(&strict, (struct sockaddr *) &in4, reason) == NULL,
			  "connect-time addresses: blocked ones (6to4 judged by its IPv4) and other families refused");
	}

	check(addr_guard_parse_cidr("10.0.0.0/8", &parsed) && parsed.prefix == 8 && parsed.family == AF_INET &&
		  addr_guard_parse_cidr("::1", &parsed) && parsed.prefix == 128 &&
		  !addr_guard_parse_cidr("10.0.0.0/33", &parsed) && !addr_guard_parse_cidr("10.0.0.0/", &parsed) &&
		  !addr_guard_parse_cidr("not-a-cidr", &parsed) && !addr_guard_parse_cidr("1.2.3.4/8x", &parsed),
		  "CIDRs: an address with an optional prefix in range, nothing else");

	/* Found by test/fuzz/url_guard_fuzz.c (corpus: finding_zone_id, finding_port_zero). */
	check(judged(&strict, "https://[2606:4700::1111%25eth0]/",
				 "host is not a valid IPv6 literal (zone ids are not allowed)") &&
		  judged(&strict, "https://[fe80::1%25eth0]/",
				 "address fe80::1 is in the blocked range fe80::/10 (link-local)"),
		  "a zone id is refused even on an allowed address (curl takes it out of the host)");
	check(judged(&hatches, "http:/http:0", "port must be between 1 and 65535") &&
		  judged(&strict, "https://example.com:0/", "port must be between 1 and 65535"),
		  "port 0 is refused");
	check(url_guard_check_form(&strict, "https://127.0.0.1/", &target, reason) && target.is_literal &&
		  !url_guard_check_form(&strict, "https://u@example.com/", &target, reason) &&
		  !url_guard_check_form(&strict, "http://example.com/", &target, reason),
		  "the form check skips the address rules only");

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
