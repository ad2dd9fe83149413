/*
 * hubspot_signature_fuzz.c
 *		libFuzzer target of HubSpot's v3 webhook signature
 *		(src/crm/hubspot_signature.c).  The input is split into a secret, a
 *		method, a URI, a body and a claimed signature.  Properties checked:
 *		  - a signature computed here verifies (round trip), and is 44 base64
 *			characters;
 *		  - the claimed signature from the input never verifies unless it is
 *			exactly the computed one;
 *		  - no mutation of the body, the timestamp, the signature or the
 *			secret verifies; a mutated URI verifies only when it decodes to
 *			the same URI;
 *		  - a timestamp outside the window is stale whatever the rest.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/hubspot_signature_fuzz \
 *			test/fuzz/hubspot_signature_fuzz.c src/crm/hubspot_signature.c src/crypto/hmac.c \
 *			src/crypto/codec.c -lcrypto
 * Run:   /tmp/hubspot_signature_fuzz -max_total_time=60 test/fuzz/corpus/hubspot_signature
 */
#include <stdlib.h>
#include <string.h>

#include "crm/hubspot_signature.h"

#define NOW_MS		1764411300123LL
#define TS_TEXT		"1764411300123"

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* The next field of the input: bytes up to a 0xFF separator (or the end). */
static const uint8_t *
field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *start = *p;
	const uint8_t *q = start;

	while (q < end && *q != 0xFF)
		q++;
	*len = (size_t) (q - start);
	*p = q < end ? q + 1 : q;
	return start;
}

/* HubSpot's decoding of a URI (what the kernel signs), for comparing two URIs. */
static size_t
decoded(const uint8_t *u, size_t n, char *out)
{
	static const char set[] = ":/?@!$'()*,;";
	size_t		k = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (u[i] == '%' && i + 2 < n)
		{
			char		hex[3] = {(char) u[i + 1], (char) u[i + 2], 0};
			char	   *endp;
			long		v = strtol(hex, &endp, 16);

			if (endp == hex + 2 && hex[0] != '-' && hex[0] != '+' && hex[0] != ' ' &&
				v > 0 && strchr(set, (int) v) != NULL)
			{
				out[k++] = (char) v;
				i += 2;
				continue;
			}
		}
		out[k++] = (char) u[i];
	}
	return k;
}

static HubspotSigStatus
check(const uint8_t *secret, size_t slen, const uint8_t *method, size_t mlen, const uint8_t *uri, size_t ulen,
	  const uint8_t *body, size_t blen, const char *ts, const char *sig, size_t siglen, int64_t now)
{
	return hubspot_sig_v3_check(secret, slen, (const char *) method, mlen, (const char *) uri, ulen,
								body, blen, ts, strlen(ts), sig, siglen, now, HUBSPOT_SIG_WINDOW_MS);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	const uint8_t *end = data + size;
	size_t		slen, mlen, ulen, blen, clen;
	const uint8_t *secret = field(&p, end, &slen);
	const uint8_t *method = field(&p, end, &mlen);
	const uint8_t *uri = field(&p, end, &ulen);
	const uint8_t *body = field(&p, end, &blen);
	const uint8_t *claimed = field(&p, end, &clen);
	char		sig[HUBSPOT_SIG_LEN];
	char		mutated[HUBSPOT_SIG_LEN];
	uint8_t    *copy;

	if (ulen > HUBSPOT_SIG_URI_MAX)
	{
		require(hubspot_sig_v3(secret, slen, (const char *) method, mlen, (const char *) uri, ulen,
							   body, blen, TS_TEXT, strlen(TS_TEXT), sig) == HUBSPOT_SIG_TOO_LONG);
		return 0;
	}
	require(hubspot_sig_v3(secret, slen, (const char *) method, mlen, (const char *) uri, ulen,
						   body, blen, TS_TEXT, strlen(TS_TEXT), sig) == HUBSPOT_SIG_OK);
	require(strlen(sig) == 44);
	require(check(secret, slen, method, mlen, uri, ulen, body, blen, TS_TEXT, sig, 44, NOW_MS) == HUBSPOT_SIG_OK);

	/* The claimed signature verifies only when it is the real one. */
	if (check(secret, slen, method, mlen, uri, ulen, body, blen, TS_TEXT, (const char *) claimed, clen, NOW_MS)
		== HUBSPOT_SIG_OK)
		require(clen == 44 && memcmp(claimed, sig, 44) == 0);

	/* Stale either way, whatever the rest. */
	require(check(secret, slen, method, mlen, uri, ulen, body, blen, TS_TEXT, sig, 44,
				  NOW_MS + HUBSPOT_SIG_WINDOW_MS + 1) == HUBSPOT_SIG_STALE);
	require(check(secret, slen, method, mlen, uri, ulen, body, blen, TS_TEXT, sig, 44,
				  NOW_MS - HUBSPOT_SIG_WINDOW_MS - 1) == HUBSPOT_SIG_STALE);
	require(check(secret, slen, method, mlen, uri, ulen, body, blen, "1764411300124", sig, 44, NOW_MS)
			== HUBSPOT_SIG_MISMATCH);

	/* A flipped bit in the signature. */
	memcpy(mutated, sig, sizeof(sig));
	mutated[size % 44] ^= 0x01;
	require(check(secret, slen, method, mlen, uri, ulen, body, blen, TS_TEXT, mutated, 44, NOW_MS)
			!= HUBSPOT_SIG_OK);

	/* A changed or longer body; a changed secret. */
	copy = malloc(blen + slen + 1);
	require(copy != NULL);
	memcpy(copy, body, blen);
	copy[blen] = 'x';
	require(check(secret, slen, method, mlen, uri, ulen, copy, blen + 1, TS_TEXT, sig, 44, NOW_MS)
			== HUBSPOT_SIG_MISMATCH);
	if (blen > 0)
	{
		copy[size % blen] ^= 0x20;
		require(check(secret, slen, method, mlen, uri, ulen, copy, blen, TS_TEXT, sig, 44, NOW_MS)
				== HUBSPOT_SIG_MISMATCH);
	}
	memcpy(copy, secret, slen);
	copy[slen] = 's';
	/* A longer secret is another key (HMAC pads short keys with zeros, so not a zero byte). */
	require(check(copy, slen + 1, method, mlen, uri, ulen, body, blen, TS_TEXT, sig, 44, NOW_MS)
			== HUBSPOT_SIG_MISMATCH);
	free(copy);

	/* A changed URI verifies only when HubSpot's decoding makes it the same URI. */
	if (ulen > 0 && ulen < 4096)
	{
		uint8_t    *u2 = malloc(ulen);
		char	   *d1 = malloc(ulen + 1);
		char	   *d2 = malloc(ulen + 1);
		size_t		n1, n2;
		HubspotSigStatus st;

		require(u2 && d1 && d2);
		memcpy(u2, uri, ulen);
		u2[size % ulen] ^= 0x01;
		st = check(secret, slen, method, mlen, u2, ulen, body, blen, TS_TEXT, sig, 44, NOW_MS);
		n1 = decoded(uri, ulen, d1);
		n2 = decoded(u2, ulen, d2);
		require((st == HUBSPOT_SIG_OK) == (n1 == n2 && memcmp(d1, d2, n1) == 0));
		free(u2);
		free(d1);
		free(d2);
	}
	return 0;
}
