/*
 * http_settings.h
 *		Settings of the outbound HTTP engine and its SSRF guard.
 */
#ifndef WIB_HTTP_SETTINGS_H
#define WIB_HTTP_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#define HTTP_ALLOW_CIDRS_MAX 32

/* One CIDR of wib.http_allow_cidrs, as raw network-order bytes. */
typedef struct HttpCidr
{
	int			family;			/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	int			prefix;
} HttpCidr;

typedef struct HttpCidrList
{
	int			count;
	HttpCidr	cidrs[HTTP_ALLOW_CIDRS_MAX];
} HttpCidrList;

extern bool http_allow_http;
extern char *http_ca_file;
extern int	http_connect_timeout_ms;
extern int	http_timeout_ms;
extern int	http_max_concurrency;

extern void http_define_settings(void);

/* The parsed wib.http_allow_cidrs (never NULL). */
extern const HttpCidrList *http_allow_cidrs(void);

/* Parses "a/n" (IPv4 or IPv6, /n optional); false when malformed. */
extern bool http_parse_cidr(const char *text, HttpCidr *out);

#endif							/* WIB_HTTP_SETTINGS_H */
