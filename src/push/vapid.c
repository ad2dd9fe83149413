/*
 * vapid.c
 *		VAPID (RFC 8292): the audience of a push endpoint, signing and checking
 *		the ES256 JWT, and the Authorization header value.
 *
 * JWS (RFC 7515 appendix A.3) carries an ECDSA signature as raw r||s, each
 * 32 bytes; OpenSSL speaks DER, so both directions convert.  Token parts are
 * checked against the base64url alphabet before decoding: no padding, no
 * other characters, so a token has exactly one spelling and a verifier that
 * accepts it accepts nothing else.
 */
#include "push/vapid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/codec.h"
#include "push/vapid_json.h"

#define SCALAR_LEN		32
#define SIGNATURE_LEN	(2 * SCALAR_LEN)

/* Longest token vapid_jwt_verify looks at, and the longest decoded header and claims. */
#define VERIFY_MAX_LEN	4096
#define PART_MAX_LEN	VAPID_CLAIMS_MAX

/* base64url of {"typ":"JWT","alg":"ES256"}, the header of every token signed here. */
static const char jwt_header_b64[] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9";

/* Writes a reason for the caller when it asked for one. */
static void vapid_reason(char *reason, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
vapid_reason(char *reason, const char *fmt,...)
{
	va_list		ap;

	if (reason == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, VAPID_REASON_LEN, fmt, ap);
	va_end(ap);
}

/* True for the characters a host name or an IPv6 literal's inside may hold. */
static bool
host_char(char c, bool literal)
{
	if ((c >= '0' && c <= '9') || c == '.' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
		return true;
	if (literal)
		return c == ':';
	return (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '-' || c == '_';
}

bool
vapid_audience(const char *endpoint, char *aud, size_t cap, bool allow_http)
{
	const char *host;
	const char *host_end;
	const char *auth_end;
	const char *scheme;
	long		port = 0;
	long		default_port;
	size_t		host_len;
	int			n;

	if (endpoint == NULL || aud == NULL || cap == 0)
		return false;
	aud[0] = '\0';
	for (const char *p = endpoint; *p; p++)
		if ((unsigned char) *p <= 0x20 || *p == 0x7f)
			return false;
	if (strncasecmp(endpoint, "https://", 8) == 0)
	{
		scheme = "https";
		default_port = 443;
		host = endpoint + 8;
	}
	else if (allow_http && strncasecmp(endpoint, "http://", 7) == 0)
	{
		scheme = "http";
		default_port = 80;
		host = endpoint + 7;
	}
	else
		return false;

	auth_end = host + strcspn(host, "/?#");
	if (memchr(host, '@', auth_end - host) != NULL)
		return false;			/* user information has no place in an endpoint */
	if (*host == '[')
	{
		host_end = memchr(host, ']', auth_end - host);
		if (host_end == NULL || host_end == host + 1)
			return false;
		for (const char *p = host + 1; p < host_end; p++)
			if (!host_char(*p, true))
				return false;
		host_end++;
	}
	else
	{
		host_end = host;
		while (host_end < auth_end && *host_end != ':')
		{
			if (!host_char(*host_end, false))
				return false;
			host_end++;
		}
		if (host_end == host)
			return false;
	}
	if (host_end < auth_end)
	{
		/* ":port"; an empty port means the default (RFC 3986 section 3.2.3) */
		if (*host_end != ':' || auth_end - host_end > 6)
			return false;
		for (const char *p = host_end + 1; p < auth_end; p++)
		{
			if (*p < '0' || *p > '9')
				return false;
			port = port * 10 + (*p - '0');
		}
		if (auth_end - host_end > 1 && (port < 1 || port > 65535))
			return false;
	}

	host_len = host_end - host;
	if (port == 0 || port == default_port)
		n = snprintf(aud, cap, "%s://%.*s", scheme, (int) host_len, host);
	else
		n = snprintf(aud, cap, "%s://%.*s:%ld", scheme, (int) host_len, host, port);
	if (n < 0 || (size_t) n >= cap)
	{
		aud[0] = '\0';
		return false;
	}
	/* the origin's host is case-insensitive; its serialization is lower case */
	for (char *p = aud + strlen(scheme) + 3; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char) (*p - 'A' + 'a');
	return true;
}

/* True when s starts with prefix, ignoring case (URI schemes are case-insensitive). */
static bool
has_scheme(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* ECDSA P-256 with SHA-256 of data under key; the signature as raw r||s. */
static bool
es256_sign(EVP_PKEY *key, const char *data, size_t len, uint8_t raw[SIGNATURE_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t		der[80];
	size_t		der_len = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG  *sig = NULL;
	const BIGNUM *r;
	const BIGNUM *s;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
		EVP_DigestSign(ctx, der, &der_len, (const unsigned char *) data, len) == 1 &&
		(sig = d2i_ECDSA_SIG(NULL, &p, (long) der_len)) != NULL;
	if (ok)
	{
		ECDSA_SIG_get0(sig, &r, &s);
		ok = BN_bn2binpad(r, raw, SCALAR_LEN) == SCALAR_LEN &&
			BN_bn2binpad(s, raw + SCALAR_LEN, SCALAR_LEN) == SCALAR_LEN;
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);		/* wipes the signing state */
	return ok;
}

bool
vapid_jwt_sign(const uint8_t priv[WEBPUSH_PRIVATE_LEN], const char *aud, int64_t exp,
			   const char *sub, char *out, size_t cap, char *reason)
{
	char		claims[VAPID_CLAIMS_MAX + 1];
	size_t		pos;
	size_t		header_len = sizeof(jwt_header_b64) - 1;
	size_t		claims_b64_len;
	size_t		signing_len;
	uint8_t		raw[SIGNATURE_LEN];
	EVP_PKEY   *key;
	bool		ok;
	int			n;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (aud == NULL || aud[0] == '\0' || strlen(aud) >= VAPID_AUD_MAX)
	{
		vapid_reason(reason, "aud must be the push endpoint's origin, under %d bytes", VAPID_AUD_MAX);
		return false;
	}
	if (sub == NULL || strlen(sub) >= VAPID_SUB_MAX ||
		!(has_scheme(sub, "mailto:") || has_scheme(sub, "https:")))
	{
		vapid_reason(reason, "sub must be a mailto: or https: URI under %d bytes", VAPID_SUB_MAX);
		return false;
	}
	if (exp <= 0)
	{
		vapid_reason(reason, "exp must be a positive Unix time");
		return false;
	}

	n = snprintf(claims, sizeof(claims), "{\"aud\":");
	pos = (size_t) n;
	ok = vapid_json_string(claims, sizeof(claims), &pos, aud);
	if (ok)
	{
		n = snprintf(claims + pos, sizeof(claims) - pos, ",\"exp\":%lld,\"sub\":", (long long) exp);
		ok = n > 0 && (size_t) n < sizeof(claims) - pos;
		pos += ok ? (size_t) n : 0;
	}
	ok = ok && vapid_json_string(claims, sizeof(claims), &pos, sub) && pos + 1 <= VAPID_CLAIMS_MAX;
	if (!ok)
	{
		vapid_reason(reason, "claims are longer than %d bytes", VAPID_CLAIMS_MAX);
		return false;
	}
	claims[pos++] = '}';
	claims[pos] = '\0';

	/* header "." claims "." signature, each base64url, and the NUL */
	claims_b64_len = CODEC_BASE64URL_LEN(pos) - 1;
	signing_len = header_len + 1 + claims_b64_len;
	if (out == NULL || cap < signing_len + 1 + CODEC_BASE64URL_LEN(SIGNATURE_LEN))
	{
		vapid_reason(reason, "output buffer of %zu bytes is too small for the token", cap);
		return false;
	}
	memcpy(out, jwt_header_b64, header_len);
	out[header_len] = '.';
	codec_base64url_encode((const uint8_t *) claims, pos, out + header_len + 1);

	if ((key = webpush_private_pkey(priv, reason)) == NULL)
	{
		out[0] = '\0';
		return false;
	}
	ok = es256_sign(key, out, signing_len, raw);
	EVP_PKEY_free(key);			/* wipes the private key */
	if (!ok)
	{
		out[0] = '\0';
		vapid_reason(reason, "ES256 signing failed");
		return false;
	}
	out[signing_len] = '.';
	codec_base64url_encode(raw, SIGNATURE_LEN, out + signing_len + 1);
	return true;
}

/* True when s[0..len) uses only the base64url alphabet (no padding). */
static bool
base64url_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_'))
			return false;
	}
	return true;
}

/*
 * Splits a compact JWS into its three parts; false unless there are exactly
 * three, each non-empty and in the base64url alphabet.
 */
static bool
split_token(const char *jwt, size_t len, size_t *dot1, size_t *dot2, char *reason)
{
	const char *d1;
	const char *d2;

	if (jwt == NULL || len == 0 || len > VERIFY_MAX_LEN)
	{
		vapid_reason(reason, "token is empty or longer than %d bytes", VERIFY_MAX_LEN);
		return false;
	}
	if ((d1 = memchr(jwt, '.', len)) == NULL ||
		(d2 = memchr(d1 + 1, '.', len - (d1 + 1 - jwt))) == NULL ||
		memchr(d2 + 1, '.', len - (d2 + 1 - jwt)) != NULL)
	{
		vapid_reason(reason, "token is not three dot-separated parts");
		return false;
	}
	*dot1 = d1 - jwt;
	*dot2 = d2 - jwt;
	if (*dot1 == 0 || *dot2 == *dot1 + 1 || *dot2 + 1 == len ||
		!base64url_chars(jwt, *dot1) ||
		!base64url_chars(jwt + *dot1 + 1, *dot2 - *dot1 - 1) ||
		!base64url_chars(jwt + *dot2 + 1, len - *dot2 - 1))
	{
		vapid_reason(reason, "token part is empty or not unpadded base64url");
		return false;
	}
	return true;
}

/*
 * Decodes one base64url part into buf (PART_MAX_LEN bytes) and reads it as a
 * flat JSON object (the whole of it: a NUL inside is refused, not an end).
 */
static bool
read_part(const char *part, size_t len, char *buf, VapidJsonField *fields, int nfields)
{
	int			n = codec_base64url_decode(part, len, (uint8_t *) buf, PART_MAX_LEN);

	return n >= 0 && vapid_json_read(buf, (size_t) n, fields, nfields);
}

/* ES256 verification of a raw r||s signature over data under key. */
static bool
es256_verify(EVP_PKEY *key, const char *data, size_t len, const uint8_t raw[SIGNATURE_LEN])
{
	ECDSA_SIG  *sig = ECDSA_SIG_new();
	BIGNUM	   *r = BN_bin2bn(raw, SCALAR_LEN, NULL);
	BIGNUM	   *s = BN_bin2bn(raw + SCALAR_LEN, SCALAR_LEN, NULL);
	unsigned char *der = NULL;
	int			der_len = -1;
	EVP_MD_CTX *ctx = NULL;
	bool		ok = false;

	if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1)
	{
		r = s = NULL;			/* sig owns them now */
		der_len = i2d_ECDSA_SIG(sig, &der);
	}
	if (der_len > 0 && (ctx = EVP_MD_CTX_new()) != NULL)
		ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
			EVP_DigestVerify(ctx, der, (size_t) der_len, (const unsigned char *) data, len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ok;
}

bool
vapid_jwt_verify(const uint8_t pub[WEBPUSH_PUBLIC_LEN], const char *jwt, size_t len, char *reason)
{
	size_t		dot1;
	size_t		dot2;
	char		text[PART_MAX_LEN];
	char		alg[16];
	char		typ[16];
	VapidJsonField header[2] = {
		{"alg", alg, sizeof(alg), 0, VAPID_JSON_ABSENT},
		{"typ", typ, sizeof(typ), 0, VAPID_JSON_ABSENT}
	};
	uint8_t		raw[SIGNATURE_LEN];
	EVP_PKEY   *key;
	bool		ok;

	if (!split_token(jwt, len, &dot1, &dot2, reason))
		return false;
	if (!read_part(jwt, dot1, text, header, 2))
	{
		vapid_reason(reason, "token header is not a base64url JSON object");
		return false;
	}
	if (header[0].type != VAPID_JSON_STRING || strcmp(alg, "ES256") != 0)
	{
		vapid_reason(reason, "token header alg is not ES256");
		return false;
	}
	if (header[1].type != VAPID_JSON_ABSENT &&
		(header[1].type != VAPID_JSON_STRING || strcasecmp(typ, "JWT") != 0))
	{
		vapid_reason(reason, "token header typ is not JWT");
		return false;
	}
	if (!read_part(jwt + dot1 + 1, dot2 - dot1 - 1, text, NULL, 0))
	{
		vapid_reason(reason, "token claims are not a base64url JSON object");
		return false;
	}
	if (codec_base64url_decode(jwt + dot2 + 1, len - dot2 - 1, raw, sizeof(raw)) != SIGNATURE_LEN)
	{
		vapid_reason(reason, "token signature is not 64 bytes (raw r||s)");
		return false;
	}
	if ((key = webpush_public_pkey(pub, reason)) == NULL)
		return false;
	ok = es256_verify(key, jwt, dot2, raw);
	EVP_PKEY_free(key);
	if (!ok)
		vapid_reason(reason, "token signature does not verify with the key");
	return ok;
}

bool
vapid_jwt_claims(const char *jwt, size_t len, VapidClaims *claims, char *reason)
{
	size_t		dot1;
	size_t		dot2;
	char		text[PART_MAX_LEN];
	VapidJsonField fields[3] = {
		{"aud", claims->aud, sizeof(claims->aud), 0, VAPID_JSON_ABSENT},
		{"exp", NULL, 0, 0, VAPID_JSON_ABSENT},
		{"sub", claims->sub, sizeof(claims->sub), 0, VAPID_JSON_ABSENT}
	};

	memset(claims, 0, sizeof(*claims));
	if (!split_token(jwt, len, &dot1, &dot2, reason))
		return false;
	if (!read_part(jwt + dot1 + 1, dot2 - dot1 - 1, text, fields, 3))
	{
		vapid_reason(reason, "token claims are not a base64url JSON object");
		return false;
	}
	if (fields[0].type == VAPID_JSON_INTEGER || fields[0].type == VAPID_JSON_OTHER ||
		fields[2].type == VAPID_JSON_INTEGER || fields[2].type == VAPID_JSON_OTHER ||
		fields[1].type == VAPID_JSON_STRING || fields[1].type == VAPID_JSON_OTHER)
	{
		vapid_reason(reason, "aud and sub must be strings and exp an integer");
		return false;
	}
	claims->exp = fields[1].type == VAPID_JSON_INTEGER ? fields[1].num : 0;
	return true;
}

size_t
vapid_authorization(const char *jwt, const uint8_t pub[WEBPUSH_PUBLIC_LEN], char *out, size_t cap)
{
	char		key[CODEC_BASE64URL_LEN(WEBPUSH_PUBLIC_LEN)];
	int			n;

	if (out == NULL || cap == 0)
		return 0;
	out[0] = '\0';
	if (jwt == NULL || !webpush_point_valid(pub, WEBPUSH_PUBLIC_LEN))
		return 0;
	codec_base64url_encode(pub, WEBPUSH_PUBLIC_LEN, key);
	n = snprintf(out, cap, "vapid t=%s, k=%s", jwt, key);
	if (n < 0 || (size_t) n >= cap)
	{
		out[0] = '\0';
		return 0;
	}
	return (size_t) n;
}
