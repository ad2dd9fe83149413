/*
 * vapid_fuzz.c
 *		libFuzzer target for VAPID (RFC 8292).  Properties:
 *		- the input, as a token, verifies under the RFC's example key only if
 *		  it is the RFC's example token, byte for byte; claims decoding and the
 *		  audience of the input as an endpoint never crash;
 *		- an audience, when one is found, is its own audience (an origin);
 *		- a token signed here over claims taken from the input verifies, gives
 *		  those claims back, and no longer verifies with one character altered.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o vapid_fuzz \
 *		test/fuzz/vapid_fuzz.c src/push/vapid.c src/push/vapid_json.c \
 *		src/push/webpush_key.c src/crypto/codec.c -lcrypto
 * Run:   ./vapid_fuzz -max_total_time=60 test/fuzz/corpus/vapid
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "push/vapid.h"

#define RFC_JWT "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA"
#define RFC_K	"BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"

static uint8_t rfc_k[WEBPUSH_PUBLIC_LEN];
static uint8_t test_priv[WEBPUSH_PRIVATE_LEN];
static uint8_t test_pub[WEBPUSH_PUBLIC_LEN];
static bool ready = false;

/* Stops the run with what failed. */
static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "property violated: %s (%s)\n", what, detail ? detail : "");
	abort();
}

/* Decodes the RFC's key and makes a signing key once. */
static void
setup(void)
{
	char		reason[VAPID_REASON_LEN] = "";

	if (codec_base64url_decode(RFC_K, strlen(RFC_K), rfc_k, sizeof(rfc_k)) != WEBPUSH_PUBLIC_LEN ||
		!webpush_keypair(test_priv, test_pub, reason))
		fail("setup", reason);
	ready = true;
}

/* Copies up to cap - 1 bytes of data up to a NUL into out; returns the bytes consumed. */
static size_t
take_string(const uint8_t *data, size_t size, char *out, size_t cap)
{
	size_t		n = 0;

	while (n < size && data[n] != 0 && n + 1 < cap)
	{
		out[n] = (char) data[n];
		n++;
	}
	out[n] = '\0';
	return n < size ? n + 1 : n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[8192];
	char		aud[VAPID_AUD_MAX];
	char		aud2[VAPID_AUD_MAX];
	char		sub[VAPID_SUB_MAX];
	char		jwt[VAPID_JWT_MAX];
	char		reason[VAPID_REASON_LEN] = "";
	VapidClaims claims;
	size_t		used;
	size_t		pos;
	uint64_t	bits;
	int64_t		exp;

	if (!ready)
		setup();

	/* the input as a token and as an endpoint */
	if (vapid_jwt_verify(rfc_k, (const char *) data, size, reason) &&
		!(size == strlen(RFC_JWT) && memcmp(data, RFC_JWT, size) == 0))
		fail("only the RFC's token verifies with its key", NULL);
	(void) vapid_jwt_claims((const char *) data, size, &claims, reason);
	if (size < sizeof(text))
	{
		memcpy(text, data, size);
		text[size] = '\0';
		if (vapid_audience(text, aud, sizeof(aud), true) &&
			(!vapid_audience(aud, aud2, sizeof(aud2), true) || strcmp(aud, aud2) != 0))
			fail("an audience is its own audience", aud);
	}

	/*
	 * A token over claims from the input: aud NUL sub NUL 8 bytes of exp,
	 * aud and sub of up to 80 bytes, so that even escaped (6 bytes each) they
	 * fit in the claims.
	 */
	used = take_string(data, size, aud, 81);
	memcpy(sub, "mailto:", 7);
	used += take_string(data + used, size - used, sub + 7, 81);
	/* Unsigned: shifting the bits of a signed exp out of range would be undefined. */
	bits = 1;
	for (size_t i = used; i < size && i < used + 8; i++)
		bits = (bits << 8 | data[i]) & INT64_MAX;
	exp = (int64_t) bits;
	if (exp == 0)
		exp = 1;
	if (aud[0] == '\0')
		return 0;
	if (!vapid_jwt_sign(test_priv, aud, exp, sub, jwt, sizeof(jwt), reason))
		fail("signing claims within the limits", reason);
	if (!vapid_jwt_verify(test_pub, jwt, strlen(jwt), reason))
		fail("a token signed here verifies", reason);
	if (!vapid_jwt_claims(jwt, strlen(jwt), &claims, reason) ||
		strcmp(claims.aud, aud) != 0 || strcmp(claims.sub, sub) != 0 || claims.exp != exp)
		fail("a token signed here gives its claims back", reason);
	pos = (size + 31 * (uint64_t) exp) % strlen(jwt);
	jwt[pos] = jwt[pos] == 'A' ? 'B' : jwt[pos] == '.' ? '-' : 'A';
	if (vapid_jwt_verify(test_pub, jwt, strlen(jwt), reason))
		fail("an altered token does not verify", jwt);
	return 0;
}
