/*
 * token_fuzz.c
 *		libFuzzer target for purpose-bound tokens.  Properties checked:
 *		  - the input itself, read as a token, never verifies, and a refusal
 *			releases no payload;
 *		  - a token signed from the input (purpose, expiry, payload) verifies
 *			and gives the payload back;
 *		  - it never verifies for another purpose, nor once any one character
 *			is replaced, deleted or inserted;
 *		  - token_expiry reads any input within its bounds, and reads back the
 *			expiry a token was signed with.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/token_fuzz \
 *			test/fuzz/token_fuzz.c src/crypto/token.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 * Run:   /tmp/token_fuzz -max_total_time=60 test/fuzz/corpus/token
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/token.h"

static const uint8_t key1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key2[32] = "fedcba9876543210fedcba9876543210";

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* A ring of keys 1 and 2. */
static const uint8_t *
lookup(uint32_t key_id, size_t *key_len, void *arg)
{
	*key_len = 32;
	return key_id == 1 ? key1 : key_id == 2 ? key2 : NULL;
}

/* Verifies and checks that a refusal leaves no payload; the status. */
static TokenStatus
verify(const char *tok, size_t len, const char *purpose, int64_t now,
	   uint8_t *payload, size_t *payload_len)
{
	TokenStatus s;

	memset(payload, 0x5a, TOKEN_PAYLOAD_MAX);
	s = token_verify(tok, len, purpose, now, lookup, NULL, payload, TOKEN_PAYLOAD_MAX, payload_len);
	if (s != TOKEN_OK)
		require(*payload_len == 0);
	return s;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[TOKEN_PAYLOAD_MAX];
	static char tok[TOKEN_LEN(TOKEN_PAYLOAD_MAX)];
	static char mut[TOKEN_LEN(TOKEN_PAYLOAD_MAX) + 1];
	char		purpose[TOKEN_PURPOSE_MAX + 2];
	size_t		purpose_len;
	size_t		payload_len;
	size_t		tok_len;
	size_t		pos;
	int64_t		expires;
	int64_t		read_expiry;
	const uint8_t *body;
	size_t		body_len;
	TokenStatus s;

	/* The raw input never verifies, for either of two purposes. */
	require(verify((const char *) data, size, "export-download", 0, payload, &payload_len) != TOKEN_OK);
	require(verify((const char *) data, size, "qr-login", 0, payload, &payload_len) != TOKEN_OK);
	if (token_expiry((const char *) data, size, &read_expiry))
		require(read_expiry >= 0);

	if (size < 8)
		return 0;
	/* data[0]: purpose length; data[1..4]: expiry; data[5..6]: position; data[7]: new character. */
	purpose_len = 1 + data[0] % 40;
	expires = (int64_t) ((uint32_t) data[1] << 24 | (uint32_t) data[2] << 16 |
						 (uint32_t) data[3] << 8 | data[4]);
	pos = (size_t) data[5] << 8 | data[6];
	body = data + 8;
	body_len = size - 8;
	for (size_t i = 0; i < purpose_len; i++)
		purpose[i] = (char) ('a' + (i < body_len ? body[i] % 26 : (int) i % 26));
	purpose[purpose_len] = '\0';
	if (body_len > TOKEN_PAYLOAD_MAX)
		body_len = TOKEN_PAYLOAD_MAX;

	require(token_sign(key2, 32, 2, purpose, expires, body, body_len, tok, sizeof(tok)));
	tok_len = strlen(tok);
	s = verify(tok, tok_len, purpose, expires - 1, payload, &payload_len);
	require(s == TOKEN_OK && payload_len == body_len &&
			(body_len == 0 || memcmp(payload, body, body_len) == 0));
	require(verify(tok, tok_len, purpose, expires, payload, &payload_len) == TOKEN_EXPIRED);
	require(token_expiry(tok, tok_len, &read_expiry) && read_expiry == expires);

	/* Another purpose: one character more. */
	purpose[purpose_len] = 'x';
	purpose[purpose_len + 1] = '\0';
	require(verify(tok, tok_len, purpose, expires - 1, payload, &payload_len) == TOKEN_BAD_SIGNATURE);
	purpose[purpose_len] = '\0';

	/* One character replaced. */
	memcpy(mut, tok, tok_len + 1);
	pos %= tok_len;
	if (mut[pos] != (char) data[7])
	{
		mut[pos] = (char) data[7];
		require(verify(mut, tok_len, purpose, expires - 1, payload, &payload_len) != TOKEN_OK);
	}
	/* One character deleted. */
	memcpy(mut, tok, pos);
	memcpy(mut + pos, tok + pos + 1, tok_len - pos);
	require(verify(mut, tok_len - 1, purpose, expires - 1, payload, &payload_len) != TOKEN_OK);
	/* One character inserted. */
	memcpy(mut, tok, pos);
	mut[pos] = (char) data[7];
	memcpy(mut + pos + 1, tok + pos, tok_len - pos + 1);
	require(verify(mut, tok_len + 1, purpose, expires - 1, payload, &payload_len) != TOKEN_OK);
	return 0;
}
