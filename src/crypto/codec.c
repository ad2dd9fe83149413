/*
 * codec.c
 *		Hexadecimal, base64 and base64url, strict in what they accept.
 *
 * Strictness matters here: these decode signatures, keys and tokens that
 * arrive from outside, and a lenient decoder gives two spellings to one
 * value (a signature that "verifies" in a form its issuer never produced).
 */
#include "crypto/codec.h"

#include <string.h>

static const char hex_chars[] = "0123456789abcdef";
static const char b64_std[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
codec_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
codec_hex_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hex_chars[in[i] >> 4];
		out[2 * i + 1] = hex_chars[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 2 * len;
}

int
codec_hex_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++)
	{
		int			hi = codec_hex_digit(in[2 * i]);
		int			lo = codec_hex_digit(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return (int) (len / 2);
}

/* Encodes with the given alphabet; pads to a multiple of four when pad. */
static size_t
base64_encode_with(const char *alphabet, bool pad, const uint8_t *in, size_t len, char *out)
{
	size_t		o = 0;
	size_t		i = 0;

	for (; i + 3 <= len; i += 3)
	{
		uint32_t	v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		if (pad)
		{
			out[o++] = '=';
			out[o++] = '=';
		}
	}
	else if (len - i == 2)
	{
		uint32_t	v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t
codec_base64_encode(const uint8_t *in, size_t len, char *out)
{
	return base64_encode_with(b64_std, true, in, len, out);
}

size_t
codec_base64url_encode(const uint8_t *in, size_t len, char *out)
{
	return base64_encode_with(b64_url, false, in, len, out);
}

/* Value of c in alphabet, -1 when it is not one of its 64 characters. */
static int
base64_value(const char *alphabet, char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int) (p - alphabet) : -1;
}

/*
 * Decodes with the given alphabet.  Padding is optional; when present it must
 * complete the last quantum exactly.  The unused low bits of the last
 * character must be zero, so every byte string has exactly one encoding.
 */
static int
base64_decode_with(const char *alphabet, const char *in, size_t len, uint8_t *out, size_t max)
{
	size_t		o = 0;
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		data_len = len;

	while (data_len > 0 && in[data_len - 1] == '=')
		data_len--;
	if (len - data_len > 2 || data_len % 4 == 1 ||
		(len != data_len && len % 4 != 0))
		return -1;
	for (size_t i = 0; i < data_len; i++)
	{
		int			v = base64_value(alphabet, in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (o >= max)
				return -1;
			out[o++] = (uint8_t) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	return (int) o;
}

int
codec_base64_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
	return base64_decode_with(b64_std, in, len, out, max);
}

int
codec_base64url_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
	return base64_decode_with(b64_url, in, len, out, max);
}

bool
codec_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t		diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
