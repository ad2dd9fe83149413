/*
 * token.c
 *		Signing and verifying purpose-bound tokens (format in token.h).
 *
 * Verification parses strictly first (every field canonical, every length
 * bounded), then checks the MAC in constant time, then the expiry, so that
 * an attacker learns nothing about a token's fields from the answers.
 */
#include "crypto/token.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/hmac.h"

#define TOKEN_PREFIX		"v2."
#define TOKEN_PREFIX_LEN	3
#define TOKEN_MAC_TEXT_LEN	43		/* unpadded base64url of 32 bytes */

/* Separates these MACs from any other HMAC a wib key might compute. */
static const char token_domain[] = "wib signed token v2";

/*
 * HMAC-SHA256 under key of domain || NUL || purpose length (4 bytes,
 * big-endian) || purpose || signed, the token text before its last dot.
 */
static bool
token_mac(const uint8_t *key, size_t key_len, const char *purpose, size_t purpose_len,
		  const char *signed_text, size_t signed_len, uint8_t mac[HMAC_SHA256_LEN])
{
	uint8_t		plen[4];
	HmacPart	parts[4];

	plen[0] = (uint8_t) (purpose_len >> 24);
	plen[1] = (uint8_t) (purpose_len >> 16);
	plen[2] = (uint8_t) (purpose_len >> 8);
	plen[3] = (uint8_t) purpose_len;
	parts[0].data = token_domain;
	parts[0].len = sizeof(token_domain);	/* the NUL included */
	parts[1].data = plen;
	parts[1].len = sizeof(plen);
	parts[2].data = purpose;
	parts[2].len = purpose_len;
	parts[3].data = signed_text;
	parts[3].len = signed_len;
	return hmac_sha256(key, key_len, parts, 4, mac);
}

bool
token_sign(const uint8_t *key, size_t key_len, uint32_t key_id,
		   const char *purpose, int64_t expires,
		   const uint8_t *payload, size_t payload_len,
		   char *out, size_t cap)
{
	size_t		purpose_len = purpose != NULL ? strlen(purpose) : 0;
	uint8_t		mac[HMAC_SHA256_LEN];
	int			n;
	size_t		o;

	if (key == NULL || key_len < TOKEN_KEY_MIN ||
		purpose_len == 0 || purpose_len > TOKEN_PURPOSE_MAX ||
		payload_len > TOKEN_PAYLOAD_MAX || (payload_len > 0 && payload == NULL) ||
		expires < 0 || cap < TOKEN_LEN(payload_len))
		return false;
	n = snprintf(out, cap, TOKEN_PREFIX "%u.%lld.", (unsigned) key_id, (long long) expires);
	if (n < 0 || (size_t) n >= cap)
		return false;
	o = (size_t) n;
	o += codec_base64url_encode(payload, payload_len, out + o);
	if (!token_mac(key, key_len, purpose, purpose_len, out, o, mac))
	{
		OPENSSL_cleanse(out, cap);
		return false;
	}
	out[o++] = '.';
	codec_base64url_encode(mac, sizeof(mac), out + o);
	return true;
}

/*
 * Parses a canonical decimal (no sign, no leading zero, at most max_digits
 * digits, at most max) from s[0..len); false otherwise.
 */
static bool
token_parse_decimal(const char *s, size_t len, size_t max_digits, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	if (len == 0 || len > max_digits || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned	d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned) (s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

TokenStatus
token_verify(const char *token, size_t len, const char *purpose,
			 int64_t now, TokenKeyLookup lookup, void *arg,
			 uint8_t *payload_out, size_t cap, size_t *payload_len)
{
	const char *field[4];
	size_t		field_len[4];
	size_t		purpose_len = purpose != NULL ? strlen(purpose) : 0;
	uint64_t	key_id;
	uint64_t	expires;
	uint8_t		mac_given[HMAC_SHA256_LEN + 1];
	uint8_t		mac_want[HMAC_SHA256_LEN];
	const uint8_t *key;
	size_t		key_len = 0;
	int			plen = 0;
	int			nfields = 0;
	size_t		start;
	TokenStatus status;

	*payload_len = 0;
	if (token == NULL || len < TOKEN_PREFIX_LEN || len > TOKEN_TEXT_MAX ||
		memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0 ||
		purpose_len == 0 || purpose_len > TOKEN_PURPOSE_MAX || lookup == NULL)
		return TOKEN_MALFORMED;

	/* Exactly four dot-separated fields after the prefix. */
	start = TOKEN_PREFIX_LEN;
	for (size_t i = TOKEN_PREFIX_LEN; i <= len; i++)
	{
		if (i < len && token[i] != '.')
			continue;
		if (nfields == 4)
			return TOKEN_MALFORMED;
		field[nfields] = token + start;
		field_len[nfields] = i - start;
		nfields++;
		start = i + 1;
	}
	if (nfields != 4)
		return TOKEN_MALFORMED;

	if (!token_parse_decimal(field[0], field_len[0], 10, UINT32_MAX, &key_id) ||
		!token_parse_decimal(field[1], field_len[1], 19, INT64_MAX, &expires))
		return TOKEN_MALFORMED;
	if (cap > TOKEN_PAYLOAD_MAX)
		cap = TOKEN_PAYLOAD_MAX;
	/* Tokens never carry padding: one spelling per payload. */
	if (memchr(field[2], '=', field_len[2]) != NULL)
		return TOKEN_MALFORMED;
	plen = codec_base64url_decode(field[2], field_len[2], payload_out, cap);
	if (plen < 0)
	{
		/* The decoder may have written part of the payload before failing. */
		if (payload_out != NULL && cap > 0)
			OPENSSL_cleanse(payload_out, cap);
		return TOKEN_MALFORMED;
	}
	if (field_len[3] != TOKEN_MAC_TEXT_LEN ||
		codec_base64url_decode(field[3], field_len[3], mac_given, HMAC_SHA256_LEN) != HMAC_SHA256_LEN)
	{
		status = TOKEN_MALFORMED;
		goto fail;
	}

	key = lookup((uint32_t) key_id, &key_len, arg);
	if (key == NULL || key_len < TOKEN_KEY_MIN)
	{
		status = TOKEN_UNKNOWN_KEY;
		goto fail;
	}
	/* The signed text ends just before the MAC's dot. */
	if (!token_mac(key, key_len, purpose, purpose_len,
				   token, (size_t) (field[3] - token) - 1, mac_want) ||
		!codec_equal(mac_want, mac_given, HMAC_SHA256_LEN))
	{
		status = TOKEN_BAD_SIGNATURE;
		goto fail;
	}
	if (now >= (int64_t) expires)
	{
		status = TOKEN_EXPIRED;
		goto fail;
	}
	*payload_len = (size_t) plen;
	return TOKEN_OK;

fail:
	if (plen > 0)
		OPENSSL_cleanse(payload_out, (size_t) plen);
	return status;
}

bool
token_expiry(const char *token, size_t len, int64_t *expires)
{
	const char *id;
	const char *id_end;
	const char *exp;
	const char *exp_end;
	uint64_t	v;

	if (token == NULL || len < TOKEN_PREFIX_LEN || len > TOKEN_TEXT_MAX ||
		memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return false;
	id = token + TOKEN_PREFIX_LEN;
	id_end = memchr(id, '.', len - TOKEN_PREFIX_LEN);
	if (id_end == NULL ||
		!token_parse_decimal(id, (size_t) (id_end - id), 10, UINT32_MAX, &v))
		return false;
	exp = id_end + 1;
	exp_end = memchr(exp, '.', len - (size_t) (exp - token));
	if (exp_end == NULL ||
		!token_parse_decimal(exp, (size_t) (exp_end - exp), 19, INT64_MAX, &v))
		return false;
	*expires = (int64_t) v;
	return true;
}

const char *
token_status_string(TokenStatus status)
{
	switch (status)
	{
		case TOKEN_OK:
			return "ok";
		case TOKEN_MALFORMED:
			return "malformed token";
		case TOKEN_UNKNOWN_KEY:
			return "unknown key";
		case TOKEN_BAD_SIGNATURE:
			return "bad signature";
		case TOKEN_EXPIRED:
			return "expired";
	}
	return "unknown status";
}
