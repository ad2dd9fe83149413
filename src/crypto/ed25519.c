/*
 * ed25519.c
 *		Ed25519 verification with the key parsed once (see ed25519.h).
 *
 * OpenSSL's own cost of a verification is the curve arithmetic; what a
 * naive caller adds is parsing the key, creating a verification context and
 * allocating the message, every call.  A verifier does each once: the
 * EVP_PKEY and the EVP_MD_CTX live as long as the key does, the context is
 * re-initialised in place (OpenSSL reuses its state when no new key is
 * given), and messages built from parts go into a buffer that only grows.
 * The decision depends only on public data, and OpenSSL compares the final
 * point in constant time; this code never compares signature bytes itself.
 */
#include "crypto/ed25519.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/codec.h"

/* Decodes a base64 public key (strict, crypto/codec.h) into out; false if it is not one. */
bool
ed25519_decode_key(const char *b64, size_t len, uint8_t *out)
{
	uint8_t		raw[ED25519_KEY_LEN + 3];

	if (b64 == NULL || len != 44 ||
		codec_base64_decode(b64, len, raw, sizeof(raw)) != ED25519_KEY_LEN)
		return false;
	memcpy(out, raw, ED25519_KEY_LEN);
	return true;
}

/* Sets the verifier's key, keeping the parsed one when it is the same. */
bool
ed25519_verifier_set_key(Ed25519Verifier *v, const uint8_t *key)
{
	EVP_PKEY   *pkey;

	if (v->pkey != NULL && memcmp(v->key, key, ED25519_KEY_LEN) == 0)
		return true;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, ED25519_KEY_LEN);
	if (pkey == NULL)
		return false;
	if (v->ctx == NULL && (v->ctx = EVP_MD_CTX_new()) == NULL)
	{
		EVP_PKEY_free(pkey);
		return false;
	}
	/* A context initialised with a new key starts over with it. */
	EVP_MD_CTX_reset(v->ctx);
	if (EVP_DigestVerifyInit(v->ctx, NULL, NULL, NULL, pkey) != 1)
	{
		EVP_PKEY_free(pkey);
		EVP_MD_CTX_free(v->ctx);
		v->ctx = NULL;
		EVP_PKEY_free(v->pkey);
		v->pkey = NULL;
		return false;
	}
	EVP_PKEY_free(v->pkey);
	v->pkey = pkey;
	v->used = false;
	memcpy(v->key, key, ED25519_KEY_LEN);
	return true;
}

/* Verifies signature over message with the verifier's key. */
bool
ed25519_verifier_check(Ed25519Verifier *v, const uint8_t *signature,
					   const unsigned char *message, size_t len)
{
	if (v->pkey == NULL)
		return false;

	/*
	 * A one-shot verification finalises the context; initialising it again
	 * without a key keeps the key and OpenSSL's state for it.
	 */
	if (v->used && EVP_DigestVerifyInit(v->ctx, NULL, NULL, NULL, NULL) != 1)
	{
		/* Start over from the key on the next call. */
		EVP_PKEY_free(v->pkey);
		v->pkey = NULL;
		return false;
	}
	v->used = true;
	return EVP_DigestVerify(v->ctx, signature, ED25519_SIG_LEN, message, len) == 1;
}

/*
 * Verifies signature over a || sep || b, built in the verifier's buffer.  A
 * message past ED25519_KEEP_MAX gets a buffer of its own, freed at once, so
 * one huge call does not leave a huge buffer behind for the process's life.
 */
bool
ed25519_verifier_check_parts(Ed25519Verifier *v, const uint8_t *signature,
							 const char *a, size_t a_len, char sep,
							 const char *b, size_t b_len)
{
	unsigned char *buf;
	size_t		len;
	bool		ok;

	if (a_len > SIZE_MAX / 2 || b_len > SIZE_MAX / 2 - a_len - 1)
		return false;
	len = a_len + 1 + b_len;
	if (len <= v->buf_cap)
		buf = v->buf;
	else if (len > ED25519_KEEP_MAX)
		buf = malloc(len);
	else
	{
		buf = realloc(v->buf, ED25519_KEEP_MAX);
		if (buf != NULL)
		{
			v->buf = buf;
			v->buf_cap = ED25519_KEEP_MAX;
		}
	}
	if (buf == NULL)
		return false;
	if (a_len > 0)
		memcpy(buf, a, a_len);
	buf[a_len] = (unsigned char) sep;
	if (b_len > 0)
		memcpy(buf + a_len + 1, b, b_len);
	ok = ed25519_verifier_check(v, signature, buf, len);
	if (buf != v->buf)
		free(buf);
	return ok;
}

/* Releases the verifier's key, context and buffer. */
void
ed25519_verifier_free(Ed25519Verifier *v)
{
	EVP_PKEY_free(v->pkey);
	EVP_MD_CTX_free(v->ctx);
	free(v->buf);
	memset(v, 0, sizeof(*v));
}
