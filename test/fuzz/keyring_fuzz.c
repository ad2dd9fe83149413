/*
 * keyring_fuzz.c
 *		libFuzzer target for the key ring parsers (wib.keys and key files).
 *		Properties checked:
 *		  - a refused input leaves an empty ring, and its reason never
 *			quotes 9 characters of a base64 run of the input (digits aside:
 *			reasons name ids and lines);
 *		  - an accepted ring has 1 to 64 keys, distinct ids from 1 to
 *			2147483647, and written back as a key file parses to the same ring.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/keyring_fuzz \
 *			test/fuzz/keyring_fuzz.c src/crypto/keyring.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 * Run:   /tmp/keyring_fuzz -max_total_time=60 test/fuzz/corpus/keyring
 */
#define _GNU_SOURCE				/* memmem */
#include <stdlib.h>
#include <string.h>

#include "crypto/keyring.h"

static Keyring ring;
static Keyring again;

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* True when c may appear in base64 key text. */
static int
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '+' || c == '/' || c == '=';
}

/* The reason quotes no base64 run of more than 8 characters taken from the input. */
static void
check_reason(const char *reason, const uint8_t *data, size_t size)
{
	size_t		i = 0;

	while (i < size)
	{
		size_t		j = i;

		while (j < size && b64_char((char) data[j]))
			j++;
		if (j - i > 8)
		{
			/*
			 * No 9 consecutive characters of the run may be in the reason,
			 * unless they are all digits: reasons name ids and line numbers.
			 */
			for (size_t k = i; k + 9 <= j; k++)
			{
				int			digits = 1;

				for (size_t d = k; d < k + 9; d++)
					digits = digits && data[d] >= '0' && data[d] <= '9';
				if (!digits)
					require(memmem(reason, strlen(reason), data + k, 9) == NULL);
			}
		}
		i = j + 1;
	}
}

/* Checks an accepted ring, and that it survives being written as a key file. */
static void
check_ring(void)
{
	static char text[KEYRING_MAX * KEYRING_LINE_LEN + 1];
	char		reason[KEYRING_REASON_LEN];
	size_t		o = 0;

	require(ring.count >= 1 && ring.count <= KEYRING_MAX);
	for (int i = 0; i < ring.count; i++)
	{
		require(ring.entries[i].id >= 1 && ring.entries[i].id <= KEYRING_ID_MAX);
		for (int j = 0; j < i; j++)
			require(ring.entries[j].id != ring.entries[i].id);
		o += keyring_format_line(ring.entries[i].id, ring.entries[i].key, text + o);
	}
	require(keyring_parse_file(text, o, &again, reason));
	require(again.count == ring.count);
	for (int i = 0; i < ring.count; i++)
	{
		const KeyringEntry *e = keyring_find(&again, ring.entries[i].id);

		require(e != NULL && memcmp(e->key, ring.entries[i].key, KEYRING_KEY_LEN) == 0);
	}
	require(keyring_current(&again)->id == keyring_current(&ring)->id);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		reason[KEYRING_REASON_LEN];

	if (keyring_parse_list((const char *) data, size, &ring, reason))
		check_ring();
	else
	{
		require(ring.count == 0);
		check_reason(reason, data, size);
	}
	if (keyring_parse_file((const char *) data, size, &ring, reason))
		check_ring();
	else
	{
		require(ring.count == 0);
		check_reason(reason, data, size);
	}
	return 0;
}
