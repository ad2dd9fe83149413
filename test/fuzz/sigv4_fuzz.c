/*
 * sigv4_fuzz.c
 *		libFuzzer target for the SigV4 signer: percent-encoding gives only
 *		unreserved characters, %XX (upper-case, for bytes that need it) and
 *		'/' when kept, and decodes back to the input; bounded writes never
 *		pass their buffer; signing any request either refuses it or signs
 *		the path and query it was given, the same way twice.
 *
 * Input: one flag byte, then the fields path, query name, query value,
 * header name, header value, host, region, secret, separated by NUL bytes.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o sigv4_fuzz \
 *   test/fuzz/sigv4_fuzz.c src/export/sigv4.c src/export/sigv4_check.c src/core/utf8.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 * Run:   ./sigv4_fuzz -max_total_time=60 test/fuzz/corpus/sigv4
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "export/sigv4.h"

#define NFIELDS 8

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

static int
upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Checks the encoding of in[0..len) and its bounded forms; aborts on a broken property. */
static void
check_encoding(const uint8_t *in, size_t len, bool keep_slash, size_t short_cap)
{
	size_t		need = sigv4_uri_encode((const char *) in, len, keep_slash, NULL, 0);
	char	   *enc = malloc(need + 1);
	uint8_t    *dec = malloc(len + 1);
	size_t		d = 0;

	if (sigv4_uri_encode((const char *) in, len, keep_slash, enc, need + 1) != need || strlen(enc) != need)
		abort();
	for (size_t i = 0; i < need;)
	{
		unsigned char c = (unsigned char) enc[i];

		if (unreserved(c) || (keep_slash && c == '/'))
		{
			dec[d++] = c;
			i++;
		}
		else if (c == '%' && i + 2 < need + 1 && upper_hex(enc[i + 1]) && upper_hex(enc[i + 2]))
		{
			uint8_t		b = (uint8_t) (codec_hex_digit(enc[i + 1]) << 4 | codec_hex_digit(enc[i + 2]));

			/* One spelling per byte: what may stay literal is never encoded. */
			if (unreserved(b) || (keep_slash && b == '/'))
				abort();
			dec[d++] = b;
			i += 3;
		}
		else
			abort();
		if (d > len)
			abort();
	}
	if (d != len || memcmp(dec, in, len) != 0)
		abort();
	free(enc);
	free(dec);

	/* Too small a buffer: the needed length, and nothing past the buffer. */
	if (short_cap <= need)
	{
		char	   *small = malloc(short_cap ? short_cap : 1);

		if (sigv4_uri_encode((const char *) in, len, keep_slash, small, short_cap) != need)
			abort();
		if (short_cap > 0 && small[0] != '\0')
			abort();
		free(small);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *field[NFIELDS];
	char	   *path;
	size_t		pos = 1;
	uint8_t		flags;
	SigV4Request r = {0};
	SigV4Pair	q;
	SigV4Pair	h;
	static SigV4Signed s1,
				s2;
	char		reason[SIGV4_REASON_LEN];
	size_t		url_cap;
	char	   *url;

	if (size < 1)
		return 0;
	flags = data[0];
	check_encoding(data + 1, size - 1, flags & 1, (size_t) (flags >> 1) % (size + 8));

	for (int i = 0; i < NFIELDS; i++)
	{
		const uint8_t *end = pos < size ? memchr(data + pos, 0, size - pos) : NULL;
		size_t		n = pos < size ? (end ? (size_t) (end - (data + pos)) : size - pos) : 0;

		field[i] = malloc(n + 1);
		if (n)
			memcpy(field[i], data + pos, n);
		field[i][n] = '\0';
		pos += n + 1;
	}
	path = malloc(strlen(field[0]) + 2);
	path[0] = '/';
	strcpy(path + 1, field[0]);

	r.method = (flags & 2) ? "PUT" : "GET";
	r.host = field[5][0] ? field[5] : "bucket.example.com";
	r.path = path;
	q.name = field[1];
	q.value = field[2];
	r.query = &q;
	r.nquery = field[1][0] ? 1 : 0;
	h.name = field[3];
	h.value = field[4];
	r.headers = &h;
	r.nheaders = field[3][0] ? 1 : 0;
	r.payload_sha256 = (flags & 4) ? SIGV4_UNSIGNED_PAYLOAD : SIGV4_EMPTY_SHA256;
	r.amz_date = "20240229T235959Z";
	r.region = field[6][0] ? field[6] : "auto";
	r.access_key_id = "AKIAIOSFODNN7EXAMPLE";
	r.secret_access_key = field[7][0] ? field[7] : "secret";

	if (sigv4_sign(&r, &s1, reason))
	{
		size_t		plen = strcspn(s1.target, "?");
		char	   *want = malloc(3 * strlen(path) + 1);

		sigv4_uri_encode(path, strlen(path), true, want, 3 * strlen(path) + 1);
		/* The target is the encoded path; the canonical request's second line is that path. */
		if (strlen(want) != plen || memcmp(s1.target, want, plen) != 0 ||
			strncmp(s1.canonical_request + strlen(r.method) + 1, want, plen) != 0 ||
			s1.canonical_request[strlen(r.method) + 1 + plen] != '\n')
			abort();
		if (strncmp(s1.authorization, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240229/", 58) != 0 ||
			strlen(s1.signature) != SIGV4_HASH_HEX_LEN ||
			strcmp(s1.authorization + strlen(s1.authorization) - SIGV4_HASH_HEX_LEN, s1.signature) != 0)
			abort();
		if (!sigv4_sign(&r, &s2, reason) || strcmp(s1.signature, s2.signature) != 0)
			abort();
		free(want);
	}
	else if (s1.authorization[0] != '\0' || reason[0] == '\0')
		abort();

	/* Presign into a buffer of a size the input picks; never past it. */
	r.nheaders = 0;
	url_cap = 1 + (size_t) data[size - 1] * 8;
	url = malloc(url_cap);
	if (sigv4_presign(&r, 1 + (flags >> 3) * 1000, url, url_cap, reason))
	{
		size_t		n = strlen(url);
		const char *sig = strstr(url, "&X-Amz-Signature=");

		if (n >= url_cap || strncmp(url, "https://", 8) != 0 ||
			strncmp(url + 8, r.host, strlen(r.host)) != 0 || sig == NULL ||
			strlen(sig) != 17 + SIGV4_HASH_HEX_LEN)
			abort();
	}
	else if (url[0] != '\0')
		abort();
	free(url);

	for (int i = 0; i < NFIELDS; i++)
		free(field[i]);
	free(path);
	return 0;
}
