/*
 * codec_fuzz.c
 *		libFuzzer target of the codecs every signature, key and token goes
 *		through (src/crypto/codec.c): hex, base64 and base64url.
 *
 * The first byte picks the output room a decoder is given (so a decoder
 * told to stop short must stop, into a heap buffer of exactly that size);
 * the rest is read as text.  Properties checked for every input:
 *   - each decoder accepts the text exactly when a reference reader written
 *     here does (strict: one alphabet, no whitespace, padding optional but
 *     then complete, no bits set past the last byte), and writes exactly the
 *     reference's bytes;
 *   - what a decoder accepts is the canonical spelling of its bytes: encoding
 *     them again gives the text back (hex in either case, base64 with its
 *     padding or without it), so no two texts decode to the same bytes;
 *   - encoding the text as bytes and decoding it is the identity, in all
 *     three codecs, with base64url also read padded;
 *   - codec_equal agrees with memcmp, and codec_hex_digit with the hex
 *     alphabet.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/codec_fuzz \
 *            test/fuzz/codec_fuzz.c src/crypto/codec.c
 * Run:   /tmp/codec_fuzz -max_total_time=60 test/fuzz/corpus/codec   (or make fuzz)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* The value of c in alphabet, or -1. */
static int
sextet(const char *alphabet, char c)
{
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int) (p - alphabet) : -1;
}

/*
 * The reference reader of base64 in alphabet: -1 unless in is whole groups
 * of four (the last possibly of 2 or 3 characters, or padded to four with
 * '=') with no bits set past the last byte; else the bytes, into out.
 */
static long
reference_base64(const char *alphabet, const char *in, size_t len, uint8_t *out)
{
	size_t		pad = 0;
	size_t		n = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	while (pad < len && pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	if (pad > 0 && len % 4 != 0)
		return -1;
	len -= pad;
	if (len % 4 == 1 || (pad > 0 && len % 4 != 4 - pad))
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		int			v = sextet(alphabet, in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (uint8_t) (acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long) n;
}

/* Checks one base64 decoder on text (see the file's header). */
static void
check_base64(bool url, const char *text, size_t len, size_t room)
{
	const char *alphabet = url ? b64_url : b64_std;
	uint8_t    *ref = malloc(len + 1);
	uint8_t    *out = malloc(room > 0 ? room : 1);
	long		want = reference_base64(alphabet, text, len, ref);
	int			got = url ? codec_base64url_decode(text, len, out, room)
		: codec_base64_decode(text, len, out, room);

	if (want >= 0 && (size_t) want <= room)
	{
		size_t		enc_room = CODEC_BASE64_LEN(want) + 2;
		char	   *enc = malloc(enc_room);
		size_t		enc_len;
		size_t		bare = len;

		require(got == want);
		require(memcmp(out, ref, want) == 0);
		/* The canonical spelling: the text, padding aside. */
		enc_len = url ? codec_base64url_encode(out, got, enc) : codec_base64_encode(out, got, enc);
		require(enc_len == strlen(enc));
		while (bare > 0 && text[bare - 1] == '=')
			bare--;
		require(url ? enc_len == bare : enc_len == (bare + 3) / 4 * 4);
		require(memcmp(enc, text, bare) == 0);
		free(enc);
	}
	else
		require(got == -1);
	free(ref);
	free(out);
}

/* Checks the hex decoder on text (see the file's header). */
static void
check_hex(const char *text, size_t len, size_t room)
{
	uint8_t    *out = malloc(room > 0 ? room : 1);
	int			got = codec_hex_decode(text, len, out, room);
	bool		valid = len % 2 == 0 && len / 2 <= room;

	for (size_t i = 0; i < len && valid; i++)
		valid = sextet("0123456789abcdefABCDEF", text[i]) >= 0;
	if (valid)
	{
		char	   *enc = malloc(CODEC_HEX_LEN(len / 2));

		require(got == (int) (len / 2));
		require(codec_hex_encode(out, got, enc) == len);
		for (size_t i = 0; i < len; i++)
		{
			char		c = text[i];

			require(enc[i] == (c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
		}
		free(enc);
	}
	else
		require(got == -1);
	free(out);
}

/* Encodes data in each codec and decodes it back: the identity. */
static void
check_round_trips(const uint8_t *data, size_t size)
{
	char	   *hex = malloc(CODEC_HEX_LEN(size));
	char	   *b64 = malloc(CODEC_BASE64_LEN(size));
	char	   *b64url = malloc(CODEC_BASE64URL_LEN(size) + 2);
	uint8_t    *back = malloc(size + 1);
	size_t		n;

	n = codec_hex_encode(data, size, hex);
	require(n == 2 * size && codec_hex_decode(hex, n, back, size) == (int) size);
	require(memcmp(back, data, size) == 0);

	n = codec_base64_encode(data, size, b64);
	require(n == CODEC_BASE64_LEN(size) - 1 && n == strlen(b64));
	require(codec_base64_decode(b64, n, back, size) == (int) size);
	require(memcmp(back, data, size) == 0);
	require(size == 0 || codec_base64_decode(b64, n, back, size - 1) == -1);

	n = codec_base64url_encode(data, size, b64url);
	require(n == CODEC_BASE64URL_LEN(size) - 1 && n == strlen(b64url));
	require(codec_base64url_decode(b64url, n, back, size) == (int) size);
	require(memcmp(back, data, size) == 0);
	/* The same key padded, as some browsers send it. */
	while (n % 4 != 0)
		b64url[n++] = '=';
	require(codec_base64url_decode(b64url, n, back, size) == (int) size);
	require(memcmp(back, data, size) == 0);

	free(hex);
	free(b64);
	free(b64url);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text;
	size_t		len;
	size_t		room;
	size_t		half;

	if (size == 0)
		return 0;
	len = size - 1;
	text = malloc(len + 1);
	memcpy(text, data + 1, len);
	text[len] = '\0';
	/* Room: as much as the text could need, or (top bit) a little less. */
	room = data[0] & 0x80 ? (data[0] & 0x7f) : len;

	check_hex(text, len, room);
	check_base64(false, text, len, room);
	check_base64(true, text, len, room);
	check_round_trips(data + 1, len);

	half = len / 2;
	require(codec_equal(text, text + half, half) == (memcmp(text, text + half, half) == 0));
	for (size_t i = 0; i < len; i++)
		require((codec_hex_digit(text[i]) >= 0) == (sextet("0123456789abcdefABCDEF", text[i]) >= 0));
	free(text);
	return 0;
}
