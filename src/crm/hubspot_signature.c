/*
 * hubspot_signature.c
 *		HubSpot's v3 webhook signature (see hubspot_signature.h).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crm/hubspot_signature.h"
#include "crypto/codec.h"
#include "crypto/hmac.h"

/* The characters HubSpot decodes in the URI before signing, by their encoding's hex value. */
static const char decoded_chars[] = ":/?@!$'()*,;";

/* The character %hi lo stands for when HubSpot decodes it, or 0. */
static char
decodable(char hi, char lo)
{
	int			h = codec_hex_digit(hi);
	int			l = codec_hex_digit(lo);
	int			c;

	if (h < 0 || l < 0)
		return 0;
	c = h * 16 + l;
	return (c != 0 && strchr(decoded_chars, c) != NULL) ? (char) c : 0;
}

/* uri with HubSpot's decodings applied, into out (room for uri_len bytes); returns its length. */
static size_t
decode_uri(const char *uri, size_t uri_len, char *out)
{
	size_t		n = 0;

	for (size_t i = 0; i < uri_len; i++)
	{
		char		c = 0;

		if (uri[i] == '%' && i + 2 < uri_len)
			c = decodable(uri[i + 1], uri[i + 2]);
		if (c)
		{
			out[n++] = c;
			i += 2;
		}
		else
			out[n++] = uri[i];
	}
	return n;
}

const char *
hubspot_sig_status_reason(HubspotSigStatus status)
{
	switch (status)
	{
		case HUBSPOT_SIG_OK:
			return "The signature is valid.";
		case HUBSPOT_SIG_MISSING:
			return "The X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header is missing.";
		case HUBSPOT_SIG_BAD_TIMESTAMP:
			return "X-HubSpot-Request-Timestamp is not a number of milliseconds.";
		case HUBSPOT_SIG_STALE:
			return "X-HubSpot-Request-Timestamp is more than five minutes away from now.";
		case HUBSPOT_SIG_TOO_LONG:
			return "The request URI is too long.";
		case HUBSPOT_SIG_MISMATCH:
			return "The signature does not match the request and the app's client secret.";
		case HUBSPOT_SIG_FAILED:
			return "The signature could not be computed.";
	}
	return "Unknown status.";
}

HubspotSigStatus
hubspot_sig_v3(const uint8_t *secret, size_t secret_len,
			   const char *method, size_t method_len,
			   const char *uri, size_t uri_len,
			   const uint8_t *body, size_t body_len,
			   const char *ts, size_t ts_len,
			   char out[HUBSPOT_SIG_LEN])
{
	char		decoded[HUBSPOT_SIG_URI_MAX];
	uint8_t		mac[HMAC_SHA256_LEN];
	HmacPart	parts[4];
	bool		ok;

	out[0] = '\0';
	if (uri_len > HUBSPOT_SIG_URI_MAX)
		return HUBSPOT_SIG_TOO_LONG;
	parts[0].data = method;
	parts[0].len = method_len;
	parts[1].data = decoded;
	parts[1].len = decode_uri(uri, uri_len, decoded);
	parts[2].data = body;
	parts[2].len = body_len;
	parts[3].data = ts;
	parts[3].len = ts_len;
	ok = hmac_sha256(secret, secret_len, parts, 4, mac);
	if (ok)
		codec_base64_encode(mac, sizeof(mac), out);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok ? HUBSPOT_SIG_OK : HUBSPOT_SIG_FAILED;
}

/* Parses 1-15 ASCII digits; false for anything else. */
static bool
parse_millis(const char *s, size_t len, int64_t *out)
{
	int64_t		v = 0;

	if (len == 0 || len > 15)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

HubspotSigStatus
hubspot_sig_v3_check(const uint8_t *secret, size_t secret_len,
					 const char *method, size_t method_len,
					 const char *uri, size_t uri_len,
					 const uint8_t *body, size_t body_len,
					 const char *ts, size_t ts_len,
					 const char *sig, size_t sig_len,
					 int64_t now_ms, int64_t window_ms)
{
	char		expected[HUBSPOT_SIG_LEN];
	int64_t		when;
	HubspotSigStatus st;
	bool		same;

	if (sig == NULL || sig_len == 0 || ts == NULL || ts_len == 0)
		return HUBSPOT_SIG_MISSING;
	if (!parse_millis(ts, ts_len, &when))
		return HUBSPOT_SIG_BAD_TIMESTAMP;
	if (when < now_ms - window_ms || when > now_ms + window_ms)
		return HUBSPOT_SIG_STALE;
	st = hubspot_sig_v3(secret, secret_len, method, method_len, uri, uri_len,
						body, body_len, ts, ts_len, expected);
	if (st != HUBSPOT_SIG_OK)
		return st;
	/* The length of a signature is no secret; its bytes are compared in constant time. */
	same = sig_len == strlen(expected) && codec_equal(sig, expected, sig_len);
	OPENSSL_cleanse(expected, sizeof(expected));
	return same ? HUBSPOT_SIG_OK : HUBSPOT_SIG_MISMATCH;
}
