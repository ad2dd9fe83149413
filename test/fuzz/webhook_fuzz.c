/*
 * webhook_fuzz.c
 *		libFuzzer target of Standard Webhooks signatures
 *		(src/crypto/webhook_sign.c): secrets, signing, the "v1," header
 *		parser and the verifier.
 *
 * Properties:
 *	- a secret from the input is accepted exactly when it is "whsec_"
 *	  (optional) and strict base64 of 1 to 64 bytes, and then it is the one
 *	  spelling of its key;
 *	- a message from the input (key, id, timestamp, body) signed, put among
 *	  other entries of a header, verifies; and whatever the input changes
 *	  in the message, the timestamp, the header or the time of checking,
 *	  the verifier's verdict is the verdict of an oracle written here with
 *	  OpenSSL's one-shot HMAC: stale when the timestamp is outside the
 *	  tolerance, else valid exactly when some space-separated entry of the
 *	  header is "v1," and the base64 HMAC-SHA256 of id.timestamp.body;
 *	- the header parser, given any header, matches exactly when the oracle
 *	  finds the entry.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o webhook_fuzz \
 *   test/fuzz/webhook_fuzz.c src/crypto/webhook_sign.c src/crypto/codec.c -lcrypto
 * Run:   ./webhook_fuzz -max_total_time=60 test/fuzz/corpus/webhook   (or make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/codec.h"
#include "crypto/webhook_sign.h"

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "webhook_fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

typedef struct Input
{
	const uint8_t *p;
	const uint8_t *end;
} Input;

static unsigned
take(Input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* Up to max bytes of the input (a length byte first), as a C string without NULs when text. */
static size_t
take_bytes(Input *in, char *out, size_t max, bool text)
{
	size_t		n = take(in) % (max + 1);

	if (n > (size_t) (in->end - in->p))
		n = in->end - in->p;
	memcpy(out, in->p, n);
	in->p += n;
	if (text)
		for (size_t i = 0; i < n; i++)
			if (out[i] == '\0')
				out[i] = '0';
	out[n] = '\0';
	return n;
}

/* The oracle's signature: "v1," and base64 of HMAC-SHA256(key, id "." ts "." body). */
static void
oracle_sign(const uint8_t *key, int key_len, const char *id, int64_t ts,
			const char *body, size_t body_len, char *out)
{
	char		prefix[300];
	unsigned char mac[32];
	unsigned int mac_len = 0;
	int			n = snprintf(prefix, sizeof(prefix), "%s.%lld.", id, (long long) ts);
	unsigned char *msg = malloc(n + body_len + 1);

	memcpy(msg, prefix, n);
	if (body_len > 0)
		memcpy(msg + n, body, body_len);
	if (HMAC(EVP_sha256(), key, key_len, msg, n + body_len, mac, &mac_len) == NULL || mac_len != 32)
		fail("OpenSSL's HMAC failed", NULL);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *) out + 3, mac, 32);
	free(msg);
}

/* The oracle's header parser: some space-separated entry is exactly sig. */
static bool
oracle_header_has(const char *header, const char *sig)
{
	size_t		sl = strlen(sig);

	for (const char *p = header; *p;)
	{
		const char *e = strchr(p, ' ');
		size_t		n = e ? (size_t) (e - p) : strlen(p);

		if (n == sl && memcmp(p, sig, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* A secret from the input: accepted exactly when strict, and then the one spelling of its key. */
static void
check_secret(Input *in)
{
	char		secret[128];
	uint8_t		key[WEBHOOK_KEY_MAX];
	char		again[CODEC_BASE64_LEN(WEBHOOK_KEY_MAX)];
	const char *b64;
	size_t		b64_len;
	int			n;

	if (take(in) & 1)
		strcpy(secret, "whsec_");
	else
		secret[0] = '\0';
	take_bytes(in, secret + strlen(secret), 100, true);
	n = webhook_secret_key(secret, key);
	b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
	if (n < 0)
		return;
	if (n == 0 || n > WEBHOOK_KEY_MAX)
		fail("a key length outside 1 to 64 bytes", secret);
	codec_base64_encode(key, n, again);
	b64_len = strlen(b64);
	while (b64_len > 0 && b64[b64_len - 1] == '=')
		b64_len--;
	if (strncmp(again, b64, b64_len) != 0 ||
		strspn(again + b64_len, "=") != strlen(again + b64_len) ||
		strspn(b64 + b64_len, "=") != strlen(b64 + b64_len))
		fail("a secret accepted in a spelling that is not its key's", secret);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, data + size};
	uint8_t		key[WEBHOOK_KEY_MAX];
	int			key_len;
	char		id[80];
	char		body[512];
	size_t		body_len;
	int64_t		ts;
	int64_t		now;
	int32_t		tolerance;
	char		sig[WEBHOOK_SIG_LEN];
	char		oracle[WEBHOOK_SIG_LEN];
	char		header[1024] = "";
	char		entry[128];
	WebhookVerdict verdict;
	WebhookVerdict want;
	uint64_t	raw_ts = 0;
	unsigned	how;

	check_secret(&in);

	/* The message. */
	key_len = 1 + take(&in) % WEBHOOK_KEY_MAX;
	for (int i = 0; i < key_len; i++)
		key[i] = (uint8_t) take(&in);
	take_bytes(&in, id, 64, true);
	body_len = take_bytes(&in, body, 255, false);
	for (int i = 0; i < 8; i++)
		raw_ts = raw_ts << 8 | take(&in);
	ts = (int64_t) (raw_ts >> 2) - ((int64_t) 1 << 61);	/* any sign, no overflow below */
	tolerance = (int32_t) (take(&in) << 8 | take(&in)) - 8;
	if (tolerance < 0)
		tolerance = 0;
	now = ts + (int64_t) (int8_t) take(&in) * (tolerance / 64 + 1);

	if (!webhook_sign(key, key_len, id, ts, body, body_len, sig))
		fail("signing failed", NULL);
	oracle_sign(key, key_len, id, ts, body, body_len, oracle);
	if (strcmp(sig, oracle) != 0)
		fail("the signature is not the oracle's", sig);

	/* The header: entries from the input, the signature somewhere among them. */
	how = take(&in);
	for (unsigned i = 0, n = how % 4; i <= n; i++)
	{
		if (i == (how >> 2) % (n + 1))
			snprintf(entry, sizeof(entry), "%s", sig);
		else
		{
			take_bytes(&in, entry, 60, true);
			for (char *c = entry; *c; c++)
				if (*c == ' ' && (take(&in) & 1))
					*c = 'v';
		}
		if (i > 0)
			strcat(header, (how & 0x40) ? "  " : " ");
		strcat(header, entry);
	}

	/* What the input changes before the check. */
	switch (take(&in) % 6)
	{
		case 0:					/* nothing */
			break;
		case 1:					/* the body */
			if (body_len > 0 && (take(&in) & 1))
				body[take(&in) % body_len] ^= (char) (1 + take(&in) % 255);
			else if (body_len < sizeof(body) - 1)
				body[body_len++] = (char) take(&in);
			break;
		case 2:					/* the id */
			if (id[0] != '\0')
				id[take(&in) % strlen(id)] ^= (char) (1 + take(&in) % 127);
			else
				strcpy(id, "x");
			break;
		case 3:					/* the timestamp */
			ts += (int64_t) (int8_t) (1 + take(&in) % 254);
			break;
		case 4:					/* the header */
			if (header[0] != '\0')
				header[take(&in) % strlen(header)] ^= (char) (1 + take(&in) % 127);
			break;
		case 5:					/* the time of checking */
			now += (int64_t) (int16_t) (take(&in) << 8 | take(&in)) * 8;
			break;
	}

	verdict = webhook_verify(key, key_len, id, ts, body, body_len, header, now, tolerance);
	if ((ts < now ? now - ts : ts - now) > tolerance)
		want = WEBHOOK_STALE;
	else
	{
		oracle_sign(key, key_len, id, ts, body, body_len, oracle);
		want = oracle_header_has(header, oracle) ? WEBHOOK_VALID : WEBHOOK_MISMATCH;
	}
	if (verdict != want)
	{
		fprintf(stderr, "id %s ts %lld now %lld tolerance %d header %s\n", id, (long long) ts,
				(long long) now, tolerance, header);
		fail(verdict == WEBHOOK_VALID ? "a changed message, timestamp or header verifies" :
			 "the verdict is not the oracle's", NULL);
	}
	if (webhook_header_matches(header, oracle) != oracle_header_has(header, oracle))
		fail("the header parser disagrees with the oracle", header);
	return 0;
}
