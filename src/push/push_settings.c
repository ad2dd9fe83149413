/*
 * push_settings.c
 *		Settings of mobile devices and Web Push, checked when they are set.
 *
 * Most are read by the deliverer's push channel (C); the retry, QR and
 * subscription settings are read by the SQL of src/sql/60_mobile/ through
 * current_setting, which is why they are defined here too: a value a check
 * hook accepts is the value that applies.
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/guc.h"

#include "push/push_settings.h"

int			push_batch_size = 500;
char	   *push_allowed_hosts = NULL;
int			push_ttl_seconds = 86400;
int			push_pad_block = 64;
int			push_jwt_lifetime = 43200;

static int	push_retry_base = 30;
static int	push_max_attempts = 6;
static int	qr_auth_ttl = 60;
static int	qr_auth_rate_limit = 10;

#define HOST_ENTRY_MAX 253

/* Accepts comma-separated host names, each optionally "*."-prefixed (a domain and what is below it). */
static bool
check_allowed_hosts(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;

	if (p == NULL)
		return false;
	while (*p)
	{
		int			len = 0;
		bool		ok = true;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (p[0] == '*' && p[1] == '.')
			p += 2;
		while (*p && *p != ',' && *p != ' ')
		{
			if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '.' || *p == ':' ||
				  *p == '[' || *p == ']'))
				ok = false;
			p++;
			len++;
		}
		if (!ok || len == 0 || len > HOST_ENTRY_MAX)
		{
			GUC_check_errdetail("wib.push_allowed_hosts must list host names separated by commas, each optionally starting with \"*.\".");
			return false;
		}
	}
	return true;
}

bool
push_host_allowed(const char *host)
{
	const char *p = push_allowed_hosts;
	size_t		host_len = strlen(host);

	if (p == NULL || host_len == 0)
		return false;
	while (*p)
	{
		const char *start;
		size_t		len;
		bool		wildcard = false;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (p[0] == '*' && p[1] == '.')
		{
			wildcard = true;
			p += 2;
		}
		start = p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		len = p - start;
		if (len == 0)
			continue;
		if (!wildcard && host_len == len && pg_strncasecmp(host, start, len) == 0)
			return true;
		/* "*.example.com": any name ending in ".example.com" */
		if (wildcard && host_len > len + 1 && host[host_len - len - 1] == '.' &&
			pg_strncasecmp(host + host_len - len, start, len) == 0)
			return true;
	}
	return false;
}

/* Defines the settings; called from _PG_init. */
void
push_define_settings(void)
{
	DefineCustomIntVariable("wib.push_batch_size",
							"How many due pushes one deliverer pass claims, encrypts and sends at once.",
							NULL,
							&push_batch_size,
							500, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("wib.push_allowed_hosts",
							   "Push services a subscription's endpoint may name: host names, \"*.\" for a domain and what is below it.",
							   "The browsers' services by default. The SSRF guard applies as well.",
							   &push_allowed_hosts,
							   "fcm.googleapis.com, android.googleapis.com, updates.push.services.mozilla.com, *.notify.windows.com, web.push.apple.com, *.push.apple.com",
							   PGC_SUSET, 0,
							   check_allowed_hosts, NULL, NULL);
	DefineCustomIntVariable("wib.push_ttl",
							"How long a push service keeps a message for a device that is offline (the TTL header).",
							NULL,
							&push_ttl_seconds,
							86400, 0, 2419200,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.push_padding",
							"Pushes are padded to a multiple of this many bytes, so their length tells the push service little (0: no padding).",
							NULL,
							&push_pad_block,
							64, 0, 4096,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.push_retry_base",
							"Wait before the first retry of a push the service refused for now (429, 5xx, no answer); each later retry waits twice as long, at most 1 hour.",
							"A longer Retry-After from the push service wins.",
							&push_retry_base,
							30, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.push_max_attempts",
							"Attempts after which a push that keeps failing is given up.",
							NULL,
							&push_max_attempts,
							6, 1, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.vapid_token_lifetime",
							"How long the VAPID token signed for a push service stays valid (its exp); it is reused until shortly before.",
							"RFC 8292 allows at most 24 hours.",
							&push_jwt_lifetime,
							43200, 60, 86400,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.qr_auth_ttl",
							"How long a QR sign-in nonce may be verified and claimed after it is created.",
							NULL,
							&qr_auth_ttl,
							60, 5, 120,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.qr_auth_rate_limit",
							"QR sign-in nonces one client_key may create per minute.",
							NULL,
							&qr_auth_rate_limit,
							10, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}
