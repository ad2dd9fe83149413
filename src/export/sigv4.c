/*
 * sigv4.c
 *		AWS Signature Version 4 for S3: canonical request, string to sign,
 *		signing key and signature, as an Authorization header or a presigned
 *		URL.
 *
 Everything that goes into the canonical request is checked first
 * (sigv4_check.c; here, header values with a line break), so what is signed
 * is what will be sent.  The signing key and the copy of the secret are
 * wiped on every path.
 */
#include "export/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "crypto/codec.h"
#include "crypto/hmac.h"
#include "core/utf8.h"
#include "export/sigv4_check.h"

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR	"aws4_request"

/* Text appended to a fixed buffer; once something does not fit, nothing more is added. */
typedef struct SigBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		overflow;
} SigBuf;

/* A query parameter or header in canonical form (encoded, or lower-cased and trimmed). */
typedef struct SigEntry
{
	const char *name;
	const char *value;
} SigEntry;

/* Scratch space of one signing: the canonical entries and the strings they point to. */
typedef struct SigWork
{
	char		arena[SIGV4_CANONICAL_MAX];
	size_t		used;
	SigEntry	query[SIGV4_MAX_QUERY + 5];
	int			nquery;
	SigEntry	headers[SIGV4_MAX_HEADERS + 3];
	int			nheaders;
	char		scope[96];		/* date/region/s3/aws4_request */
	char		credential[256];	/* access key id/scope */
} SigWork;

static const char upper_hex[] = "0123456789ABCDEF";

size_t
sigv4_uri_encode(const char *in, size_t len, bool keep_slash, char *out, size_t cap)
{
	size_t		need = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		need += (sigv4_unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;
	}
	if (cap == 0)
		return need;
	if (need >= cap)
	{
		out[0] = '\0';
		return need;
	}
	for (size_t i = 0, o = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (sigv4_unreserved(c) || (keep_slash && c == '/'))
			out[o++] = (char) c;
		else
		{
			out[o++] = '%';
			out[o++] = upper_hex[c >> 4];
			out[o++] = upper_hex[c & 0x0f];
		}
	}
	out[need] = '\0';
	return need;
}

/* Starts an empty text in data[0..cap). */
static void
buf_init(SigBuf *b, char *data, size_t cap)
{
	b->data = data;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
	data[0] = '\0';
}

/* Appends s[0..n), or marks the text overflowed when it does not fit with its NUL. */
static void
buf_add(SigBuf *b, const char *s, size_t n)
{
	if (b->overflow)
		return;
	if (n >= b->cap - b->len)
	{
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends a NUL-terminated string. */
static void
buf_str(SigBuf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Appends the percent-encoding of s[0..n). */
static void
buf_encoded(SigBuf *b, const char *s, size_t n, bool keep_slash)
{
	size_t		need;

	if (b->overflow)
		return;
	need = sigv4_uri_encode(s, n, keep_slash, b->data + b->len, b->cap - b->len);
	if (need >= b->cap - b->len)
	{
		b->overflow = true;
		b->data[b->len] = '\0';
		return;
	}
	b->len += need;
}

/* Copies n bytes of s into the arena as a string; NULL when the arena is full. */
static const char *
arena_add(SigWork *w, const char *s, size_t n)
{
	char	   *start = w->arena + w->used;

	if (n >= sizeof(w->arena) - w->used)
		return NULL;
	memcpy(start, s, n);
	start[n] = '\0';
	w->used += n + 1;
	return start;
}

/* Percent-encodes s into the arena; NULL when the arena is full. */
static const char *
arena_encoded(SigWork *w, const char *s)
{
	char	   *start = w->arena + w->used;
	size_t		room = sizeof(w->arena) - w->used;
	size_t		need = sigv4_uri_encode(s, strlen(s), false, start, room);

	if (need >= room)
		return NULL;
	w->used += need + 1;
	return start;
}

/* Adds one query parameter in canonical (encoded) form. */
static bool
add_query(SigWork *w, const char *name, const char *value, char *reason)
{
	SigEntry   *e = &w->query[w->nquery];

	if (name == NULL || name[0] == '\0' || value == NULL)
		return sigv4_fail(reason, "query parameter without a name or value");
	if (!utf8_valid(name, strlen(name)) || !utf8_valid(value, strlen(value)))
		return sigv4_fail(reason, "query parameter is not valid UTF-8");
	if ((e->name = arena_encoded(w, name)) == NULL || (e->value = arena_encoded(w, value)) == NULL)
		return sigv4_fail(reason, "query is too long");
	w->nquery++;
	return true;
}

/*
 * Adds one header in canonical form: name lower-cased, value with leading
 * and trailing blanks removed and inner runs of blanks made one space.
 */
static bool
add_header(SigWork *w, const char *name, const char *value, char *reason)
{
	SigEntry   *e = &w->headers[w->nheaders];
	char		lower[65];
	char	   *start;
	size_t		o = 0;
	size_t		nlen;
	bool		blank = false;

	if (!sigv4_header_name_ok(name))
		return sigv4_fail(reason, "header name must be 1 to 64 token characters");
	if (value == NULL)
		return sigv4_fail(reason, "header without a value");
	nlen = strlen(name);
	for (size_t i = 0; i <= nlen; i++)
		lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i];
	if ((e->name = arena_add(w, lower, nlen)) == NULL)
		return sigv4_fail(reason, "headers are too long");
	start = w->arena + w->used;
	for (const char *p = value; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == ' ' || c == '\t')
		{
			blank = o > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return sigv4_fail(reason, "header value has a control character");
		if (w->used + o + 3 > sizeof(w->arena))
			return sigv4_fail(reason, "headers are too long");
		if (blank)
			start[o++] = ' ';
		start[o++] = (char) c;
		blank = false;
	}
	if (w->used + o + 1 > sizeof(w->arena))
		return sigv4_fail(reason, "headers are too long");
	start[o] = '\0';
	w->used += o + 1;
	e->value = start;
	w->nheaders++;
	return true;
}

/* Orders entries by name, then value: bytewise, as SigV4 sorts. */
static int
entry_cmp(const void *a, const void *b)
{
	const SigEntry *x = a;
	const SigEntry *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* True when name starts with "x-amz-" in any case. */
static bool
is_amz_param(const char *name)
{
	return strncasecmp(name, "x-amz-", 6) == 0;
}

/* Derives the signing key and signs sts with it; the key and the secret copy are wiped. */
static bool
sign_sts(const SigV4Request *r, const char *sts, char sig_hex[SIGV4_HASH_HEX_LEN + 1])
{
	uint8_t		secret[4 + SIGV4_SECRET_MAX];
	uint8_t		k1[HMAC_SHA256_LEN];
	uint8_t		k2[HMAC_SHA256_LEN];
	uint8_t		sig[HMAC_SHA256_LEN];
	size_t		slen = strlen(r->secret_access_key);
	HmacPart	part;
	bool		ok;

	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, r->secret_access_key, slen);
	part.data = r->amz_date;
	part.len = 8;
	ok = hmac_sha256(secret, 4 + slen, &part, 1, k1);	/* kDate */
	part.data = r->region;
	part.len = strlen(r->region);
	ok = ok && hmac_sha256(k1, sizeof(k1), &part, 1, k2);	/* kRegion */
	part.data = "s3";
	part.len = 2;
	ok = ok && hmac_sha256(k2, sizeof(k2), &part, 1, k1);	/* kService */
	part.data = SIGV4_TERMINATOR;
	part.len = strlen(SIGV4_TERMINATOR);
	ok = ok && hmac_sha256(k1, sizeof(k1), &part, 1, k2);	/* kSigning */
	part.data = sts;
	part.len = strlen(sts);
	ok = ok && hmac_sha256(k2, sizeof(k2), &part, 1, sig);
	if (ok)
		codec_hex_encode(sig, sizeof(sig), sig_hex);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return ok;
}

/* Collects the canonical query parameters and headers of r into w. */
static bool
collect(const SigV4Request *r, bool presign, int expires, SigWork *w, char *reason)
{
	int			n;

	n = snprintf(w->scope, sizeof(w->scope), "%.8s/%s/s3/" SIGV4_TERMINATOR, r->amz_date, r->region);
	if (n < 0 || (size_t) n >= sizeof(w->scope))
		return sigv4_fail(reason, "region is too long");
	n = snprintf(w->credential, sizeof(w->credential), "%s/%s", r->access_key_id, w->scope);
	if (n < 0 || (size_t) n >= sizeof(w->credential))
		return sigv4_fail(reason, "access key id is too long");

	for (int i = 0; i < r->nquery; i++)
	{
		if (presign && r->query[i].name != NULL && is_amz_param(r->query[i].name))
			return sigv4_fail(reason, "a presigned URL sets its own X-Amz-* query parameters");
		if (!add_query(w, r->query[i].name, r->query[i].value, reason))
			return false;
	}
	if (presign)
	{
		char		expires_text[16];

		snprintf(expires_text, sizeof(expires_text), "%d", expires);
		if (!add_query(w, "X-Amz-Algorithm", SIGV4_ALGORITHM, reason) ||
			!add_query(w, "X-Amz-Credential", w->credential, reason) ||
			!add_query(w, "X-Amz-Date", r->amz_date, reason) ||
			!add_query(w, "X-Amz-Expires", expires_text, reason) ||
			!add_query(w, "X-Amz-SignedHeaders", "host", reason))
			return false;
	}

	if (!add_header(w, "host", r->host, reason))
		return false;
	if (!presign &&
		(!add_header(w, "x-amz-content-sha256", r->payload_sha256, reason) ||
		 !add_header(w, "x-amz-date", r->amz_date, reason)))
		return false;
	for (int i = 0; i < r->nheaders; i++)
	{
		const char *name = r->headers[i].name;

		if (name != NULL && (strcasecmp(name, "host") == 0 || strcasecmp(name, "authorization") == 0 ||
							 strcasecmp(name, "x-amz-date") == 0 ||
							 strcasecmp(name, "x-amz-content-sha256") == 0))
			return sigv4_fail(reason, "host, authorization, x-amz-date and x-amz-content-sha256 are set by the signer");
		if (!add_header(w, name, r->headers[i].value, reason))
			return false;
	}

	qsort(w->query, w->nquery, sizeof(SigEntry), entry_cmp);
	qsort(w->headers, w->nheaders, sizeof(SigEntry), entry_cmp);
	for (int i = 1; i < w->nheaders; i++)
		if (strcmp(w->headers[i - 1].name, w->headers[i].name) == 0)
			return sigv4_fail(reason, "the same header is given twice");
	return true;
}

/*
 * Builds the request target, canonical request, string to sign and
 * signature of r into out; with presign, for a presigned URL valid for
 * expires seconds.
 */
static bool
build(const SigV4Request *r, bool presign, int expires, SigV4Signed *out, char *reason)
{
	SigWork		w;
	SigBuf		b;
	SigBuf		sh;
	char		signed_headers[SIGV4_MAX_HEADERS * 66 + 64];
	const char *path = (r->path != NULL && r->path[0] != '\0') ? r->path : "/";
	const char *query;
	uint8_t		hash[SHA256_LEN];
	char		hash_hex[CODEC_HEX_LEN(SHA256_LEN)];
	HmacPart	part;
	int			n;

	memset(out, 0, sizeof(*out));
	w.used = 0;
	w.nquery = 0;
	w.nheaders = 0;
	if (!collect(r, presign, expires, &w, reason))
		return false;

	/* The request target: encoded path, then the canonical query. */
	buf_init(&b, out->target, sizeof(out->target));
	buf_encoded(&b, path, strlen(path), true);
	for (int i = 0; i < w.nquery; i++)
	{
		buf_add(&b, i == 0 ? "?" : "&", 1);
		buf_str(&b, w.query[i].name);
		buf_add(&b, "=", 1);
		buf_str(&b, w.query[i].value);
	}
	if (b.overflow)
		return sigv4_fail(reason, "path and query are too long");
	query = strchr(out->target, '?');
	query = query ? query + 1 : "";

	buf_init(&sh, signed_headers, sizeof(signed_headers));
	for (int i = 0; i < w.nheaders; i++)
	{
		if (i > 0)
			buf_add(&sh, ";", 1);
		buf_str(&sh, w.headers[i].name);
	}

	buf_init(&b, out->canonical_request, sizeof(out->canonical_request));
	buf_str(&b, r->method);
	buf_add(&b, "\n", 1);
	buf_add(&b, out->target, strcspn(out->target, "?"));
	buf_add(&b, "\n", 1);
	buf_str(&b, query);
	buf_add(&b, "\n", 1);
	for (int i = 0; i < w.nheaders; i++)
	{
		buf_str(&b, w.headers[i].name);
		buf_add(&b, ":", 1);
		buf_str(&b, w.headers[i].value);
		buf_add(&b, "\n", 1);
	}
	buf_add(&b, "\n", 1);
	buf_str(&b, signed_headers);
	buf_add(&b, "\n", 1);
	buf_str(&b, presign ? SIGV4_UNSIGNED_PAYLOAD : r->payload_sha256);
	if (b.overflow || sh.overflow)
		return sigv4_fail(reason, "canonical request is too long");

	part.data = out->canonical_request;
	part.len = b.len;
	if (!sha256_parts(&part, 1, hash))
		return sigv4_fail(reason, "SHA-256 failed");
	codec_hex_encode(hash, sizeof(hash), hash_hex);
	n = snprintf(out->string_to_sign, sizeof(out->string_to_sign), SIGV4_ALGORITHM "\n%s\n%s\n%s",
				 r->amz_date, w.scope, hash_hex);
	if (n < 0 || (size_t) n >= sizeof(out->string_to_sign))
		return sigv4_fail(reason, "string to sign is too long");
	if (!sign_sts(r, out->string_to_sign, out->signature))
		return sigv4_fail(reason, "HMAC-SHA256 failed");

	memcpy(out->amz_date, r->amz_date, SIGV4_DATE_LEN + 1);
	snprintf(out->content_sha256, sizeof(out->content_sha256), "%s",
			 presign ? "" : r->payload_sha256);
	if (!presign)
	{
		n = snprintf(out->authorization, sizeof(out->authorization),
					 SIGV4_ALGORITHM " Credential=%s,SignedHeaders=%s,Signature=%s",
					 w.credential, signed_headers, out->signature);
		if (n < 0 || (size_t) n >= sizeof(out->authorization))
			return sigv4_fail(reason, "Authorization header is too long");
	}
	return true;
}

bool
sigv4_sign(const SigV4Request *r, SigV4Signed *out, char *reason)
{
	if (out == NULL)
		return sigv4_fail(reason, "no output");
	if (!sigv4_check_request(r, false, reason) || !build(r, false, 0, out, reason))
	{
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

bool
sigv4_presign(const SigV4Request *r, int expires_seconds, char *url_out, size_t cap, char *reason)
{
	SigV4Signed s;
	SigBuf		b;

	if (url_out == NULL || cap == 0)
		return sigv4_fail(reason, "no room for the URL");
	url_out[0] = '\0';
	if (expires_seconds < 1 || expires_seconds > SIGV4_EXPIRES_MAX)
		return sigv4_fail(reason, "expires_seconds must be between 1 and 604800");
	if (!sigv4_check_request(r, true, reason) || !build(r, true, expires_seconds, &s, reason))
		return false;
	buf_init(&b, url_out, cap);
	buf_str(&b, r->use_http ? "http://" : "https://");
	buf_str(&b, r->host);
	buf_str(&b, s.target);
	buf_str(&b, "&X-Amz-Signature=");
	buf_str(&b, s.signature);
	if (b.overflow)
	{
		url_out[0] = '\0';
		return sigv4_fail(reason, "the URL does not fit");
	}
	return true;
}
