/*
 * http_settings.c
 *		Settings of the outbound HTTP engine shared by webhooks, CRM sync and
 *		Web Push, and of its SSRF guard.
 *
 * The guard's escape hatches (plain http, allowed CIDRs) are superuser-only
 * and off by default: a tenant can never widen what the server may reach.
 * wib.http_allow_cidrs is parsed once by its check hook, so the guard reads a
 * ready list even outside a transaction.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "http/http_settings.h"

bool		http_allow_http = false;
char	   *http_ca_file = NULL;
int			http_connect_timeout_ms = 5000;
int			http_timeout_ms = 15000;
int			http_max_concurrency = 64;

static char *allow_cidrs_setting = NULL;
static const HttpCidrList empty_list = {0};
static const HttpCidrList *allow_cidrs = &empty_list;

/* Check hook: parses the comma-separated list into a malloc'd HttpCidrList. */
static bool
check_allow_cidrs(char **newval, void **extra, GucSource source)
{
	HttpCidrList *list = (HttpCidrList *) malloc(sizeof(HttpCidrList));
	char	   *copy;
	char	   *tok;
	char	   *save = NULL;

	if (list == NULL)
		return false;
	memset(list, 0, sizeof(*list));
	copy = pstrdup(*newval ? *newval : "");
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
	{
		if (list->count >= HTTP_ALLOW_CIDRS_MAX)
		{
			GUC_check_errdetail("At most %d CIDRs may be listed.", HTTP_ALLOW_CIDRS_MAX);
			free(list);
			return false;
		}
		if (!addr_guard_parse_cidr(tok, &list->cidrs[list->count]))
		{
			GUC_check_errdetail("\"%s\" is not an IPv4 or IPv6 CIDR such as 127.0.0.0/8.", tok);
			free(list);
			return false;
		}
		list->count++;
	}
	pfree(copy);
	*extra = list;
	return true;
}

/* Assign hook: makes the list parsed by the check hook current. */
static void
assign_allow_cidrs(const char *newval, void *extra)
{
	allow_cidrs = extra ? (const HttpCidrList *) extra : &empty_list;
}

/* The CIDRs of wib.http_allow_cidrs, parsed (never NULL). */
const HttpCidrList *
http_allow_cidrs(void)
{
	return allow_cidrs;
}

/* The guard's policy from wib.http_allow_http and wib.http_allow_cidrs as they are now. */
const UrlGuardPolicy *
http_guard_policy(void)
{
	static UrlGuardPolicy policy;

	policy.allow_http = http_allow_http;
	policy.allow = allow_cidrs;
	return &policy;
}

/* Defines the wib.http_* settings; called from _PG_init. */
void
http_define_settings(void)
{
	DefineCustomBoolVariable("wib.http_allow_http",
							 "Allows plain http:// URLs for outbound requests (tests only).",
							 "Off by default: only https is allowed.",
							 &http_allow_http,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("wib.http_allow_cidrs",
							   "Comma-separated CIDRs that outbound requests may reach despite the SSRF rules (tests only).",
							   "Empty by default: every private, loopback and reserved range is refused.",
							   &allow_cidrs_setting,
							   "",
							   PGC_SUSET,
							   0,
							   check_allow_cidrs, assign_allow_cidrs, NULL);
	DefineCustomStringVariable("wib.http_ca_file",
							   "PEM file of extra CA certificates outbound TLS trusts, instead of the system store.",
							   "TLS verification is always on; this only changes which CAs are trusted.",
							   &http_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("wib.http_connect_timeout",
							"Longest time an outbound request may take to connect (TCP and TLS).",
							NULL,
							&http_connect_timeout_ms,
							5000, 100, 60000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.http_timeout",
							"Longest time an outbound request may take in all.",
							NULL,
							&http_timeout_ms,
							15000, 100, 300000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.http_max_concurrency",
							"How many outbound requests the HTTP engine runs at once.",
							NULL,
							&http_max_concurrency,
							64, 1, 1024,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}
