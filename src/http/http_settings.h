/*
 * http_settings.h
 *		Settings of the outbound HTTP engine and its SSRF guard.
 */
#ifndef WIB_HTTP_SETTINGS_H
#define WIB_HTTP_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "http/addr_guard.h"
#include "http/url_guard.h"

#define HTTP_ALLOW_CIDRS_MAX ADDR_GUARD_CIDRS_MAX

extern bool http_allow_http;
extern char *http_ca_file;
extern int	http_connect_timeout_ms;
extern int	http_timeout_ms;
extern int	http_max_concurrency;

extern void http_define_settings(void);

/* The parsed wib.http_allow_cidrs (never NULL). */
extern const HttpCidrList *http_allow_cidrs(void);

/* What the SSRF guard allows under the current settings. */
extern const UrlGuardPolicy *http_guard_policy(void);

#endif							/* WIB_HTTP_SETTINGS_H */
