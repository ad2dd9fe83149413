/*
 * codec_test.c
 *		The RFC 4648 section 10 vectors in base64, base64url and hex, and the
 *		strictness of the decoders: one encoding per byte string.
 *
 * Build: cc -I src -o codec_test test/kernels/codec_test.c src/crypto/codec.c
 */
#include <stdio.h>
#include <string.h>

#include "crypto/codec.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Decodes text and compares it with want; -1 as want_len means "must be refused". */
static int
decodes_to(int (*dec) (const char *, size_t, uint8_t *, size_t), const char *text,
		   const char *want, int want_len)
{
	uint8_t		buf[64];
	int			n = dec(text, strlen(text), buf, sizeof(buf));

	if (want_len < 0)
		return n == -1;
	return n == want_len && memcmp(buf, want, want_len) == 0;
}

int
main(void)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const hex[] = {"", "66", "666f", "666f6f", "666f6f62", "666f6f6261", "666f6f626172"};
	char		out[64];
	uint8_t		bytes[3] = {0xfb, 0xff, 0xfe};

	printf("1..10\n");
	{
		int			ok = 1;

		for (int i = 0; i < 7; i++)
		{
			codec_base64_encode((const uint8_t *) plain[i], strlen(plain[i]), out);
			ok &= strcmp(out, b64[i]) == 0;
			ok &= decodes_to(codec_base64_decode, b64[i], plain[i], strlen(plain[i]));
		}
		check(ok, "base64 encodes and decodes the RFC 4648 vectors");
	}
	{
		int			ok = 1;

		for (int i = 0; i < 7; i++)
		{
			char		unpadded[16];

			strcpy(unpadded, b64[i]);
			unpadded[strcspn(unpadded, "=")] = '\0';
			codec_base64url_encode((const uint8_t *) plain[i], strlen(plain[i]), out);
			ok &= strcmp(out, unpadded) == 0;
			ok &= decodes_to(codec_base64url_decode, unpadded, plain[i], strlen(plain[i]));
			ok &= decodes_to(codec_base64url_decode, b64[i], plain[i], strlen(plain[i]));
		}
		check(ok, "base64url encodes unpadded and decodes with or without padding");
	}
	{
		int			ok = 1;

		for (int i = 0; i < 7; i++)
		{
			codec_hex_encode((const uint8_t *) plain[i], strlen(plain[i]), out);
			ok &= strcmp(out, hex[i]) == 0;
			ok &= decodes_to(codec_hex_decode, hex[i], plain[i], strlen(plain[i]));
		}
		ok &= decodes_to(codec_hex_decode, "666F6F", "foo", 3);
		check(ok, "hex encodes lower case and decodes either case");
	}
	codec_base64_encode(bytes, 3, out);
	check(strcmp(out, "+//+") == 0, "base64 uses + and / for 62 and 63");
	codec_base64url_encode(bytes, 3, out);
	check(strcmp(out, "-__-") == 0, "base64url uses - and _ for 62 and 63");
	check(decodes_to(codec_base64_decode, "-__-", NULL, -1) &&
		  decodes_to(codec_base64url_decode, "+//+", NULL, -1),
		  "each decoder refuses the other alphabet");
	check(decodes_to(codec_base64_decode, "Zh==", NULL, -1) &&
		  decodes_to(codec_base64url_decode, "Zm9=", NULL, -1),
		  "non-zero padding bits are refused (one encoding per value)");
	check(decodes_to(codec_base64_decode, "Zg=", NULL, -1) &&
		  decodes_to(codec_base64_decode, "Z", NULL, -1) &&
		  decodes_to(codec_base64_decode, "Zm9v\n", NULL, -1) &&
		  decodes_to(codec_base64_decode, "Zg===", NULL, -1),
		  "wrong padding, a lone character and whitespace are refused");
	{
		uint8_t		small[2];

		check(codec_base64_decode("Zm9v", 4, small, sizeof(small)) == -1 &&
			  codec_hex_decode("666f6f", 6, small, sizeof(small)) == -1 &&
			  codec_hex_decode("6g", 2, small, sizeof(small)) == -1 &&
			  codec_hex_decode("666", 3, small, sizeof(small)) == -1,
			  "decoders refuse output past max, bad digits and odd lengths");
	}
	check(codec_equal("abcd", "abcd", 4) && !codec_equal("abcd", "abce", 4) &&
		  codec_equal("", "x", 0),
		  "codec_equal compares every byte");
	return failures == 0 ? 0 : 1;
}
