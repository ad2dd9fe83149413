/*
 * token_test.c
 *		Purpose-bound signed tokens: a known answer computed independently
 *		(Python's hmac over the format of token.h), purpose separation, every
 *		field and character altered, the expiry boundary, unknown keys and
 *		malformed input; the expiry read back from a token.
 *
 * Build: cc -I src -o token_test test/kernels/token_test.c src/crypto/token.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/token.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Keys 7 and 8 of a small ring; key 9 is too short to be accepted. */
static uint8_t key7[32];
static uint8_t key8[32];
static uint8_t key9[8];

static const uint8_t *
lookup(uint32_t key_id, size_t *key_len, void *arg)
{
	int		   *calls = arg;

	if (calls != NULL)
		(*calls)++;
	*key_len = 32;
	if (key_id == 7)
		return key7;
	if (key_id == 8)
		return key8;
	if (key_id == 9)
	{
		*key_len = sizeof(key9);
		return key9;
	}
	return NULL;
}

/* Verifies token (a C string) for purpose at now; the status. */
static TokenStatus
verify(const char *token, const char *purpose, int64_t now)
{
	uint8_t		payload[TOKEN_PAYLOAD_MAX];
	size_t		len;

	return token_verify(token, strlen(token), purpose, now, lookup, NULL,
						payload, sizeof(payload), &len);
}

#define T0		((int64_t) 1700000000)
#define KAT		"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI"
#define PAYLOAD	"{\"job\":\"6f1c\"}"

int
main(void)
{
	char		tok[TOKEN_LEN(TOKEN_PAYLOAD_MAX)];
	char		alt[TOKEN_LEN(TOKEN_PAYLOAD_MAX) + 8];
	uint8_t		payload[TOKEN_PAYLOAD_MAX];
	uint8_t		big[TOKEN_PAYLOAD_MAX + 1];
	size_t		plen;
	int			ok;
	int			calls;
	static const char subst[] = "0129aAzZ-_.=+/ \x01\x80";

	printf("1..28\n");
	for (int i = 0; i < 32; i++)
	{
		key7[i] = (uint8_t) i;
		key8[i] = (uint8_t) (0xff - i);
	}
	memset(key9, 9, sizeof(key9));
	memset(big, 'x', sizeof(big));

	/* 1-2: known answer and round trip. */
	ok = token_sign(key7, 32, 7, "export-download", T0,
					(const uint8_t *) PAYLOAD, strlen(PAYLOAD), tok, sizeof(tok));
	check(ok && strcmp(tok, KAT) == 0, "signing matches the independently computed token");
	check(token_verify(tok, strlen(tok), "export-download", T0 - 1, lookup, NULL,
					   payload, sizeof(payload), &plen) == TOKEN_OK &&
		  plen == strlen(PAYLOAD) && memcmp(payload, PAYLOAD, plen) == 0,
		  "the token verifies for its purpose and gives its payload back");

	/* 3-4: purposes. */
	check(verify(KAT, "qr-login", T0 - 1) == TOKEN_BAD_SIGNATURE &&
		  verify(KAT, "export-downloa", T0 - 1) == TOKEN_BAD_SIGNATURE &&
		  verify(KAT, "export-download ", T0 - 1) == TOKEN_BAD_SIGNATURE &&
		  verify(KAT, "Export-download", T0 - 1) == TOKEN_BAD_SIGNATURE,
		  "another purpose (even a prefix or a case change) is a bad signature");
	check(verify(KAT, "", T0 - 1) == TOKEN_MALFORMED && verify(KAT, NULL, T0 - 1) == TOKEN_MALFORMED,
		  "an empty purpose is refused");

	/* 5-9: each field altered. */
	check(verify("v2.8.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0 - 1) == TOKEN_BAD_SIGNATURE,
		  "a key id changed to another known key is a bad signature");
	check(verify("v2.6.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0 - 1) == TOKEN_UNKNOWN_KEY,
		  "a key id the ring does not know is an unknown key");
	check(verify("v2.7.1800000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0 - 1) == TOKEN_BAD_SIGNATURE,
		  "a later expiry is a bad signature");
	check(verify("v2.7.1700000000.eyJqb2IiOiI2ZjFkIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0 - 1) == TOKEN_BAD_SIGNATURE,
		  "another payload is a bad signature");
	check(verify("v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RJ",
				 "export-download", T0 - 1) == TOKEN_MALFORMED &&
		  verify("v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.1oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0 - 1) == TOKEN_BAD_SIGNATURE,
		  "a MAC with stray low bits is malformed; another MAC is a bad signature");

	/* 10: every character of the token replaced by each of a set of characters. */
	ok = 1;
	for (size_t i = 0; i < strlen(KAT) && ok; i++)
		for (size_t c = 0; c < sizeof(subst) - 1 && ok; c++)
		{
			if (KAT[i] == subst[c])
				continue;
			strcpy(alt, KAT);
			alt[i] = subst[c];
			ok = verify(alt, "export-download", T0 - 1) != TOKEN_OK;
		}
	check(ok, "no single-character change of a token verifies");

	/* 11: every character deleted, and one inserted everywhere. */
	ok = 1;
	for (size_t i = 0; i <= strlen(KAT) && ok; i++)
	{
		memcpy(alt, KAT, i);
		strcpy(alt + i, KAT + i + (i < strlen(KAT) ? 1 : 0));
		if (i < strlen(KAT))
			ok = verify(alt, "export-download", T0 - 1) != TOKEN_OK;
		memcpy(alt, KAT, i);
		alt[i] = 'A';
		strcpy(alt + i + 1, KAT + i);
		ok = ok && verify(alt, "export-download", T0 - 1) != TOKEN_OK;
	}
	check(ok, "no token with a character deleted or inserted verifies");

	/* 12-13: expiry. */
	check(verify(KAT, "export-download", T0 - 1) == TOKEN_OK &&
		  verify(KAT, "export-download", T0) == TOKEN_EXPIRED &&
		  verify(KAT, "export-download", T0 + 1) == TOKEN_EXPIRED,
		  "valid until the second before its expiry, expired from the expiry on");
	check(verify("v2.7.1600000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
				 "export-download", T0) == TOKEN_BAD_SIGNATURE &&
		  verify(KAT, "qr-login", T0 + 1) == TOKEN_BAD_SIGNATURE,
		  "a forged or other-purpose token past its expiry is a bad signature, not expired");

	/* 14: failed verification leaves no payload. */
	memset(payload, 0x55, sizeof(payload));
	ok = token_verify(KAT, strlen(KAT), "export-download", T0, lookup, NULL,
					  payload, sizeof(payload), &plen) == TOKEN_EXPIRED && plen == 0 &&
		payload[0] == 0 && payload[5] == 0;
	check(ok, "an expired token's payload is wiped and its length is 0");

	/* 15: keys. */
	check(token_sign(key9, sizeof(key9), 9, "p", T0, NULL, 0, tok, sizeof(tok)) == 0 &&
		  token_sign(key7, 32, 9, "p", T0, NULL, 0, tok, sizeof(tok)) &&
		  verify(tok, "p", T0 - 1) == TOKEN_UNKNOWN_KEY,
		  "keys shorter than 16 bytes neither sign nor verify");

	/* 16-17: payload limits and the empty payload. */
	ok = token_sign(key8, 32, 8, "qr-login", T0, big, TOKEN_PAYLOAD_MAX, tok, sizeof(tok)) &&
		strlen(tok) <= TOKEN_TEXT_MAX &&
		token_verify(tok, strlen(tok), "qr-login", 0, lookup, NULL, payload, sizeof(payload), &plen) == TOKEN_OK &&
		plen == TOKEN_PAYLOAD_MAX &&
		token_verify(tok, strlen(tok), "qr-login", 0, lookup, NULL, payload, 100, &plen) == TOKEN_MALFORMED &&
		plen == 0;
	check(ok, "a payload of the largest size round-trips; a caller buffer too small is refused");
	check(!token_sign(key8, 32, 8, "qr-login", T0, big, TOKEN_PAYLOAD_MAX + 1, tok, sizeof(tok)) &&
		  token_sign(key8, 32, 8, "qr-login", T0, NULL, 0, tok, sizeof(tok)) &&
		  token_verify(tok, strlen(tok), "qr-login", 0, lookup, NULL, NULL, 0, &plen) == TOKEN_OK && plen == 0,
		  "a payload over the limit is not signed; an empty payload round-trips");

	/* 18-20: what token_sign refuses. */
	memset(alt, 'p', TOKEN_PURPOSE_MAX + 1);
	alt[TOKEN_PURPOSE_MAX + 1] = '\0';
	check(!token_sign(key7, 32, 7, "", T0, NULL, 0, tok, sizeof(tok)) &&
		  !token_sign(key7, 32, 7, NULL, T0, NULL, 0, tok, sizeof(tok)) &&
		  !token_sign(key7, 32, 7, alt, T0, NULL, 0, tok, sizeof(tok)),
		  "empty and over-long purposes are not signed");
	check(!token_sign(key7, 32, 7, "p", -1, NULL, 0, tok, sizeof(tok)) &&
		  token_sign(key7, 32, 4294967295u, "p", INT64_MAX, NULL, 0, tok, sizeof(tok)) &&
		  strncmp(tok, "v2.4294967295.9223372036854775807..", 35) == 0 &&
		  strlen(tok) == 35 + 43,
		  "a negative expiry is refused; the largest key id and expiry fit");
	check(!token_sign(key7, 32, 7, "p", T0, (const uint8_t *) "abc", 3, tok, TOKEN_LEN(3) - 1),
		  "an output buffer below TOKEN_LEN is refused");

	/* 21-26: malformed input, and the key is never looked up for it. */
	calls = 0;
	{
		static const char *const bad[] = {
			"", "v", "v2", "v2.", "v2....", "v1.7.1700000000..0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI.",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0",
			"v2.07.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.+7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.4294967296.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.-1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.9223372036854775808.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.01700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0=.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0+.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_R",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RIA",
			"v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0/RI",
			" v2.7.1700000000.eyJqb2IiOiI2ZjFjIn0.0oBZHexD1mi4opvHcsYglrC1opXYgRKjNXhScQb0_RI",
		};

		ok = 1;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			TokenStatus s = token_verify(bad[i], strlen(bad[i]), "export-download", 0, lookup, &calls,
										 payload, sizeof(payload), &plen);

			if (s != TOKEN_MALFORMED)
			{
				fprintf(stderr, "# %s: %s\n", bad[i], token_status_string(s));
				ok = 0;
			}
		}
		check(ok && calls == 0, "malformed tokens (prefix, field count, non-canonical numbers, bad base64url) are refused before any key lookup");
	}
	{
		char	   *huge = malloc(1 << 20);

		memset(huge, 'A', 1 << 20);
		memcpy(huge, "v2.7.1.", 7);
		check(token_verify(huge, 1 << 20, "export-download", 0, lookup, NULL,
						   payload, sizeof(payload), &plen) == TOKEN_MALFORMED &&
			  token_verify(huge, (size_t) -1, "export-download", 0, lookup, NULL,
						   payload, sizeof(payload), &plen) == TOKEN_MALFORMED,
			  "a megabyte-long token and a length of SIZE_MAX are refused");
		free(huge);
	}
	memcpy(alt, KAT, strlen(KAT) + 1);
	alt[20] = '\0';
	check(token_verify(alt, strlen(KAT), "export-download", 0, lookup, NULL,
					   payload, sizeof(payload), &plen) == TOKEN_MALFORMED,
		  "an embedded NUL byte is refused");
	check(token_verify(KAT, strlen(KAT), "export-download", 0, NULL, NULL,
					   payload, sizeof(payload), &plen) == TOKEN_MALFORMED,
		  "no key lookup function is refused");
	check(token_verify(KAT, strlen(KAT) - 1, "export-download", T0 - 1, lookup, NULL,
					   payload, sizeof(payload), &plen) != TOKEN_OK,
		  "the given length is honoured: a token cut short does not verify");
	check(verify(KAT, "export-download", T0 - 1) == TOKEN_OK,
		  "the known-answer token still verifies after all of the above");

	/* 27: names of statuses. */
	check(strcmp(token_status_string(TOKEN_OK), "ok") == 0 &&
		  strcmp(token_status_string(TOKEN_MALFORMED), "malformed token") == 0 &&
		  strcmp(token_status_string(TOKEN_UNKNOWN_KEY), "unknown key") == 0 &&
		  strcmp(token_status_string(TOKEN_BAD_SIGNATURE), "bad signature") == 0 &&
		  strcmp(token_status_string(TOKEN_EXPIRED), "expired") == 0 &&
		  strcmp(token_status_string((TokenStatus) 99), "unknown status") == 0,
		  "every status has a name");

	/* 28: the expiry read back, only from the v2 shape. */
	{
		int64_t		e1 = 0;
		int64_t		e2 = 0;

		ok = token_expiry(KAT, strlen(KAT), &e1) && e1 == T0 &&
			token_sign(key7, 32, 4294967295u, "p", INT64_MAX, NULL, 0, tok, sizeof(tok)) &&
			token_expiry(tok, strlen(tok), &e2) && e2 == INT64_MAX &&
			!token_expiry("", 0, &e1) && !token_expiry("v2.7.", 5, &e1) &&
			!token_expiry("v2.7.17", 7, &e1) && !token_expiry("v2..1700000000.x.y", 18, &e1) &&
			!token_expiry("v2.7.01700000000.x.y", 20, &e1) &&
			!token_expiry("v2.7.9223372036854775808.x.y", 28, &e1) &&
			!token_expiry("v1.7.1700000000.x.y", 19, &e1) && !token_expiry(NULL, 5, &e1) &&
			!token_expiry(KAT, 15, &e1) && e1 == T0;
		check(ok, "token_expiry reads the expiry of a v2 token and refuses anything else");
	}
	return failures == 0 ? 0 : 1;
}
