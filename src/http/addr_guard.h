/*
 * addr_guard.h
 *		Which IP addresses outbound requests may reach: the blocked ranges
 *		(IANA's special-purpose address registries, RFC 6890, with RFC 6598,
 *		6052 and 8215) and the CIDRs an operator allows despite them.
 *
 * Backend-free (libc only), never raises, never allocates: the HTTP engine
 * calls it from libcurl's open-socket callback for every address it
 * connects to.
 */
#ifndef WIB_ADDR_GUARD_H
#define WIB_ADDR_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_GUARD_CIDRS_MAX	32
#define ADDR_GUARD_REASON_LEN	256

/* One CIDR, as raw network-order bytes. */
typedef struct HttpCidr
{
	int			family;			/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	int			prefix;
} HttpCidr;

typedef struct HttpCidrList
{
	int			count;
	HttpCidr	cidrs[ADDR_GUARD_CIDRS_MAX];
} HttpCidrList;

/* Parses "address[/prefix]" (IPv4 or IPv6) into raw bytes; false when malformed. */
extern bool addr_guard_parse_cidr(const char *text, HttpCidr *out);

/* True when addr (4 or 16 bytes of family) lies in c. */
extern bool addr_guard_in_cidr(int family, const uint8_t *addr, const HttpCidr *c);

/*
 * NULL when addr (4 bytes for AF_INET, 16 for AF_INET6) may be reached: it
 * is in allow (which may be NULL) or outside every blocked range, judging an
 * IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4)
 * by that.  Otherwise the reason, written to reason (ADDR_GUARD_REASON_LEN
 * bytes).
 */
extern const char *addr_guard_check(int family, const uint8_t *addr,
									const HttpCidrList *allow, char *reason);

/*
 * The i-th blocked range (0 upwards) as bytes and as the text the reasons
 * name; false past the last.  For tests, which check the two agree.
 */
extern bool addr_guard_blocked_range(int i, HttpCidr *cidr, const char **text);

/* The same for a socket address; any family but IPv4 and IPv6 is refused. */
extern const char *addr_guard_check_sockaddr(const struct sockaddr *sa,
											 const HttpCidrList *allow, char *reason);

#endif							/* WIB_ADDR_GUARD_H */
