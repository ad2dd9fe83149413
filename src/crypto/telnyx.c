/*
 * telnyx.c
 *		Telnyx's check of a webhook (see telnyx.h) on the raw bytes, before
 *		anything is parsed.
 */
#include "crypto/telnyx.h"

#include "crypto/codec.h"

/* Checks one callback's timestamp and signature (see telnyx.h). */
TelnyxVerdict
telnyx_verify(Ed25519Verifier *v, const char *body, size_t body_len,
			  const char *signature, size_t sig_len,
			  const char *ts, size_t ts_len,
			  int64_t now, int tolerance_seconds)
{
	uint8_t		sig[ED25519_SIG_LEN + 2];
	int64_t		when = 0;

	if (v->pkey == NULL)
		return TELNYX_NO_KEY;
	if (ts == NULL || ts_len < 1 || ts_len > 12)
		return TELNYX_BAD_TIMESTAMP;
	for (size_t i = 0; i < ts_len; i++)
	{
		if (ts[i] < '0' || ts[i] > '9')
			return TELNYX_BAD_TIMESTAMP;
		when = when * 10 + (ts[i] - '0');
	}
	if (tolerance_seconds < 0 || tolerance_seconds > TELNYX_MAX_TOLERANCE ||
		when > now + tolerance_seconds || when < now - tolerance_seconds)
		return TELNYX_STALE;
	if (signature == NULL || sig_len != 88 ||
		codec_base64_decode(signature, sig_len, sig, sizeof(sig)) != ED25519_SIG_LEN)
		return TELNYX_BAD_SIGNATURE;
	if (!ed25519_verifier_check_parts(v, sig, ts, ts_len, '|', body, body_len))
		return TELNYX_MISMATCH;
	return TELNYX_VALID;
}

/* Describes a verdict, for logs and tests. */
const char *
telnyx_verdict_string(TelnyxVerdict verdict)
{
	switch (verdict)
	{
		case TELNYX_VALID:
			return "valid";
		case TELNYX_BAD_TIMESTAMP:
			return "timestamp is not Unix seconds";
		case TELNYX_STALE:
			return "timestamp is outside the tolerance";
		case TELNYX_BAD_SIGNATURE:
			return "signature is not base64 of 64 bytes";
		case TELNYX_MISMATCH:
			return "signature does not match";
		case TELNYX_NO_KEY:
			return "no public key";
	}
	return "unknown verdict";
}
