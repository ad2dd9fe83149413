/*
 * ivr_settings.c
 *		Settings of the inbound IVR, checked when they are set so that a bad
 *		value is refused at SET or reload rather than in the middle of a call.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "crypto/ed25519.h"
#include "ivr/ivr_settings.h"
#include "ivr/spike.h"
#include "ivr/telnyx.h"

char	   *ivr_telnyx_public_key = NULL;
int			ivr_telnyx_tolerance = 300;
char	   *ivr_callback_url = NULL;
int			ivr_calls_per_minute = 60;

/* wib.telnyx_public_key decoded, by its check hook, once per change of the setting. */
typedef struct IvrTelnyxKey
{
	bool		set;
	uint8_t		key[ED25519_KEY_LEN];
} IvrTelnyxKey;

static IvrTelnyxKey telnyx_key;

/* Accepts an empty key (not configured) or base64 of exactly 32 bytes, decoded into extra. */
static bool
ivr_check_public_key(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	IvrTelnyxKey *decoded = malloc(sizeof(IvrTelnyxKey));

	if (decoded == NULL)
		return false;
	memset(decoded, 0, sizeof(*decoded));
	if (v == NULL || v[0] == '\0' || (decoded->set = ed25519_decode_key(v, strlen(v), decoded->key)))
	{
		*extra = decoded;
		return true;
	}
	free(decoded);
	GUC_check_errdetail("wib.telnyx_public_key must be the base64 of a 32-byte Ed25519 public key.");
	return false;
}

/* Assign hook: makes the key decoded by the check hook current. */
static void
ivr_assign_public_key(const char *newval, void *extra)
{
	if (extra != NULL)
		telnyx_key = *(const IvrTelnyxKey *) extra;
	else
		memset(&telnyx_key, 0, sizeof(telnyx_key));
}

/* The 32 bytes of wib.telnyx_public_key, or NULL when it is not set. */
const uint8_t *
ivr_telnyx_key(void)
{
	return telnyx_key.set ? telnyx_key.key : NULL;
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
							   ivr_check_public_key, ivr_assign_public_key, NULL);
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
