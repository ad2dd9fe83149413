/*
 * ivr_settings.c
 *		Settings of the inbound IVR, checked when they are set so that a bad
 *		value is refused at SET or reload rather than in the middle of a call.
 */
#include "postgres.h"

#include "common/base64.h"
#include "utils/guc.h"

#include "ivr/ivr_settings.h"
#include "ivr/spike.h"
#include "ivr/telnyx.h"

char	   *ivr_telnyx_public_key = NULL;
int			ivr_telnyx_tolerance = 300;
char	   *ivr_callback_url = NULL;
int			ivr_calls_per_minute = 60;

/* Accepts an empty key (not configured) or base64 of exactly 32 bytes. */
static bool
ivr_check_public_key(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	int			len;
	char		raw[64];

	if (v == NULL || v[0] == '\0')
		return true;
	len = strlen(v);
	if (len == 44 && pg_b64_dec_len(len) <= (int) sizeof(raw) &&
		pg_b64_decode(v, len, raw, sizeof(raw)) == 32)
		return true;
	GUC_check_errdetail("wib.telnyx_public_key must be the base64 of a 32-byte Ed25519 public key.");
	return false;
}

/* Accepts an empty base (relative callbacks) or an http(s) URL without spaces. */
static bool
ivr_check_callback_url(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;

	if (v == NULL || v[0] == '\0')
		return true;
	if ((strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0) && strlen(v) <= 1900)
	{
		const unsigned char *p;

		for (p = (const unsigned char *) v; *p; p++)
			if (*p <= 0x20 || *p >= 0x7F || *p == '"' || *p == '<' || *p == '>')
				break;
		if (*p == '\0')
			return true;
	}
	GUC_check_errdetail("wib.ivr_callback_url must be empty or an http(s) URL without spaces.");
	return false;
}

/* The URL Telnyx calls back for kind ("gather", "status"). */
char *
ivr_callback(const char *kind)
{
	const char *base = ivr_callback_url ? ivr_callback_url : "";
	int			len = strlen(base);

	if (len == 0)
		return pstrdup(kind);
	if (base[len - 1] == '/')
		return psprintf("%s%s", base, kind);
	return psprintf("%s/%s", base, kind);
}

/* Defines the wib.telnyx_* and wib.ivr_* settings; called from _PG_init. */
void
ivr_define_settings(void)
{
	DefineCustomStringVariable("wib.telnyx_public_key",
							   "Telnyx account public key (base64 of 32 bytes) that signs IVR webhooks.",
							   "Empty means not configured: wib.ivr_webhook refuses every callback.",
							   &ivr_telnyx_public_key,
							   "",
							   PGC_SUSET, 0,
							   ivr_check_public_key, NULL, NULL);
	DefineCustomIntVariable("wib.telnyx_timestamp_tolerance",
							"How far a Telnyx webhook timestamp may be from now.",
							NULL,
							&ivr_telnyx_tolerance,
							300, 1, 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("wib.ivr_callback_url",
							   "Base URL Telnyx calls back for gather and status (the platform's IVR route).",
							   "Empty means relative URLs (gather, status), resolved against the inbound webhook URL.",
							   &ivr_callback_url,
							   "",
							   PGC_SUSET, 0,
							   ivr_check_callback_url, NULL, NULL);
	DefineCustomIntVariable("wib.ivr_calls_per_minute",
							"Inbound calls accepted per number per minute (toll-fraud guard); 0 means no limit.",
							"Calls over the limit are answered with <Reject reason=\"busy\"/>.",
							&ivr_calls_per_minute,
							60, 0, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	ivr_spike_define_settings();
	telnyx_define_settings();
}
