/*
 * vault_fuzz.c
 *		libFuzzer target for the vault's envelopes.  Properties checked:
 *		  - the input itself, read as an envelope, never opens;
 *		  - seal then open is the identity (plaintext and AAD from the input);
 *		  - no mutation of a valid envelope (a flipped bit, a truncation, an
 *			appended byte, a changed AAD) ever opens, and a refused open
 *			releases no plaintext.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/vault_fuzz \
 *			test/fuzz/vault_fuzz.c src/crypto/vault.c -lcrypto
 * Run:   /tmp/vault_fuzz -max_total_time=60 test/fuzz/corpus/vault
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/vault.h"

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[VAULT_KEY_LEN] = {
		0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
		0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4
	};
	uint8_t		aad[64];
	size_t		aad_len;
	const uint8_t *plain;
	size_t		plain_len;
	uint8_t    *env;
	uint8_t    *mut;
	uint8_t    *out;
	size_t		env_len;
	size_t		out_len;
	size_t		pos;
	char		reason[VAULT_REASON_LEN];

	/* The raw input is not an envelope anyone sealed. */
	out = malloc(size + 1);
	require(!vault_open(key, NULL, 0, data, size, out, size, &out_len, reason) && out_len == 0);
	free(out);

	if (size < 4)
		return 0;
	/* data[0]: AAD length; data[1..2]: mutation position; data[3]: mutation kind; then the plaintext. */
	aad_len = data[0] % sizeof(aad);
	pos = (size_t) data[1] << 8 | data[2];
	plain = data + 4;
	plain_len = size - 4;
	for (size_t i = 0; i < aad_len; i++)
		aad[i] = (uint8_t) (i * 7 + data[0]);

	env = malloc(VAULT_SEALED_LEN(plain_len) + 1);
	mut = malloc(VAULT_SEALED_LEN(plain_len) + 1);
	out = malloc(plain_len + 1);
	require(vault_seal(key, 0x01000000u | data[3], aad, aad_len, plain, plain_len,
					   env, VAULT_SEALED_LEN(plain_len), &env_len, reason));
	require(env_len == VAULT_SEALED_LEN(plain_len));
	require(vault_open(key, aad, aad_len, env, env_len, out, plain_len, &out_len, reason));
	require(out_len == plain_len && (plain_len == 0 || memcmp(out, plain, plain_len) == 0));

	memcpy(mut, env, env_len);
	memset(out, 0x5a, plain_len + 1);
	switch (data[3] % 4)
	{
		case 0:					/* one flipped bit anywhere */
			pos %= env_len;
			mut[pos] ^= (uint8_t) (1u << (data[0] % 8));
			require(!vault_open(key, aad, aad_len, mut, env_len, out, plain_len, &out_len, reason));
			break;
		case 1:					/* truncated */
			pos %= env_len;
			require(!vault_open(key, aad, aad_len, mut, pos, out, plain_len, &out_len, reason));
			break;
		case 2:					/* a byte appended */
			mut[env_len] = data[2];
			require(!vault_open(key, aad, aad_len, mut, env_len + 1, out, plain_len + 1, &out_len, reason));
			break;
		case 3:					/* the AAD changed: one more byte, or one byte flipped */
			if (aad_len == 0 || (pos & 1))
			{
				aad[aad_len] = data[1];
				require(!vault_open(key, aad, aad_len + 1, mut, env_len, out, plain_len, &out_len, reason));
			}
			else
			{
				aad[pos % aad_len] ^= 0x01;
				require(!vault_open(key, aad, aad_len, mut, env_len, out, plain_len, &out_len, reason));
			}
			break;
	}
	require(out_len == 0);
	/* A refused open leaves zeros, or the caller's bytes when it stopped before decrypting. */
	for (size_t i = 0; i < plain_len; i++)
		require(out[i] == 0 || out[i] == 0x5a);
	free(env);
	free(mut);
	free(out);
	return 0;
}
