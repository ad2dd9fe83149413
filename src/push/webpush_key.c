/*
 * webpush_key.c
 *		P-256 keys for Web Push and VAPID: point checks, key pairs, OpenSSL key
 *		objects of raw keys, and ECDH.
 *
 * Key objects and ECDH use OpenSSL 3's EVP_PKEY API.  Checking a point and
 * multiplying the generator use EC_GROUP and EC_POINT (not deprecated in
 * OpenSSL 3, unlike EC_KEY): EVP_PKEY_fromdata in OpenSSL 3.0 does not derive
 * a public key from a private one.  P-256 has cofactor 1, so a point on the
 * curve other than infinity is in the prime-order group, and ECDH with it
 * cannot leak bits of our scalar.
 */
#include "push/webpush.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

/* The curve, kept for the life of the process: building it is not free. */
static EC_GROUP *p256_group = NULL;

/* Writes a reason for the caller when it asked for one. */
static void key_reason(char *reason, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
key_reason(char *reason, const char *fmt,...)
{
	va_list		ap;

	if (reason == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, WEBPUSH_REASON_LEN, fmt, ap);
	va_end(ap);
}

/* The P-256 group, or NULL when OpenSSL cannot build it. */
static const EC_GROUP *
p256(void)
{
	if (p256_group == NULL)
		p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	return p256_group;
}

bool
webpush_point_valid(const uint8_t *p, size_t len)
{
	const EC_GROUP *group = p256();
	EC_POINT   *point;
	bool		ok;

	if (p == NULL || len != WEBPUSH_PUBLIC_LEN || p[0] != 0x04 || group == NULL)
		return false;
	if ((point = EC_POINT_new(group)) == NULL)
		return false;
	/* oct2point refuses coordinates not below the field prime */
	ok = EC_POINT_oct2point(group, point, p, len, NULL) == 1 &&
		EC_POINT_is_at_infinity(group, point) == 0 &&
		EC_POINT_is_on_curve(group, point, NULL) == 1;
	EC_POINT_free(point);
	return ok;
}

bool
webpush_public_from_private(const uint8_t priv[WEBPUSH_PRIVATE_LEN],
							uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason)
{
	const EC_GROUP *group = p256();
	BIGNUM	   *k = NULL;
	EC_POINT   *point = NULL;
	BN_CTX	   *bn_ctx = NULL;
	bool		ok = false;

	if (group == NULL)
	{
		key_reason(reason, "OpenSSL has no P-256 curve");
		return false;
	}
	if ((k = BN_secure_new()) == NULL || BN_bin2bn(priv, WEBPUSH_PRIVATE_LEN, k) == NULL)
		key_reason(reason, "out of memory");
	else if (BN_is_zero(k) || BN_cmp(k, EC_GROUP_get0_order(group)) >= 0)
		key_reason(reason, "private key is not a P-256 scalar (zero or not below the group order)");
	else if ((point = EC_POINT_new(group)) == NULL || (bn_ctx = BN_CTX_secure_new()) == NULL)
		key_reason(reason, "out of memory");
	else if (EC_POINT_mul(group, point, k, NULL, NULL, bn_ctx) != 1 ||
			 EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
								pub, WEBPUSH_PUBLIC_LEN, bn_ctx) != WEBPUSH_PUBLIC_LEN)
		key_reason(reason, "OpenSSL could not compute the public key");
	else
		ok = true;
	BN_clear_free(k);
	EC_POINT_clear_free(point);
	BN_CTX_free(bn_ctx);
	if (!ok)
		memset(pub, 0, WEBPUSH_PUBLIC_LEN);
	return ok;
}

/* Builds a key object of the given parts (selection EVP_PKEY_KEYPAIR or EVP_PKEY_PUBLIC_KEY). */
static EVP_PKEY *
pkey_fromdata(int selection, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY   *pkey = NULL;

	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
		EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

EVP_PKEY *
webpush_private_pkey(const uint8_t priv[WEBPUSH_PRIVATE_LEN], char *reason)
{
	uint8_t		pub[WEBPUSH_PUBLIC_LEN];
	uint8_t		native[WEBPUSH_PRIVATE_LEN];
	BIGNUM	   *k;
	OSSL_PARAM	params[4];
	EVP_PKEY   *pkey = NULL;

	if (!webpush_public_from_private(priv, pub, reason))
		return NULL;
	/* OSSL_PARAM carries integers in native byte order */
	if ((k = BN_secure_new()) == NULL || BN_bin2bn(priv, WEBPUSH_PRIVATE_LEN, k) == NULL ||
		BN_bn2nativepad(k, native, sizeof(native)) != (int) sizeof(native))
	{
		BN_clear_free(k);
		OPENSSL_cleanse(native, sizeof(native));
		key_reason(reason, "out of memory");
		return NULL;
	}
	BN_clear_free(k);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native, sizeof(native));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[3] = OSSL_PARAM_construct_end();
	pkey = pkey_fromdata(EVP_PKEY_KEYPAIR, params);
	OPENSSL_cleanse(native, sizeof(native));
	if (pkey == NULL)
		key_reason(reason, "OpenSSL refused the private key");
	return pkey;
}

EVP_PKEY *
webpush_public_pkey(const uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason)
{
	OSSL_PARAM	params[3];
	EVP_PKEY   *pkey;

	if (!webpush_point_valid(pub, WEBPUSH_PUBLIC_LEN))
	{
		key_reason(reason, "public key is not an uncompressed P-256 point");
		return NULL;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *) pub, WEBPUSH_PUBLIC_LEN);
	params[2] = OSSL_PARAM_construct_end();
	pkey = pkey_fromdata(EVP_PKEY_PUBLIC_KEY, params);
	if (pkey == NULL)
		key_reason(reason, "OpenSSL refused the public key");
	return pkey;
}

/*
 * A fresh key object from OpenSSL's generator, with its public point in pub
 * and, when priv is not NULL, its scalar in priv.
 */
static EVP_PKEY *
generate_pkey(uint8_t *priv, uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason)
{
	EVP_PKEY   *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM	   *k = NULL;
	size_t		pub_len = 0;
	bool		ok;

	if (pkey == NULL)
	{
		key_reason(reason, "OpenSSL could not generate a P-256 key");
		return NULL;
	}
	ok = EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
										 pub, WEBPUSH_PUBLIC_LEN, &pub_len) == 1 &&
		pub_len == WEBPUSH_PUBLIC_LEN && pub[0] == 0x04;
	if (ok && priv != NULL)
		ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &k) == 1 &&
			BN_bn2binpad(k, priv, WEBPUSH_PRIVATE_LEN) == WEBPUSH_PRIVATE_LEN;
	BN_clear_free(k);
	if (!ok)
	{
		if (priv != NULL)
			OPENSSL_cleanse(priv, WEBPUSH_PRIVATE_LEN);
		EVP_PKEY_free(pkey);
		key_reason(reason, "OpenSSL could not export the generated key");
		return NULL;
	}
	return pkey;
}

bool
webpush_keypair(uint8_t priv[WEBPUSH_PRIVATE_LEN], uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason)
{
	EVP_PKEY   *pkey = generate_pkey(priv, pub, reason);

	if (pkey == NULL)
		return false;
	EVP_PKEY_free(pkey);
	return true;
}

/* A key of its own for each message, so no two messages share a content key. */
EVP_PKEY *
webpush_ephemeral_pkey(uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason)
{
	return generate_pkey(NULL, pub, reason);
}

bool
webpush_ecdh(EVP_PKEY *own, const uint8_t peer_public[WEBPUSH_PUBLIC_LEN],
			 uint8_t secret[WEBPUSH_SECRET_LEN], char *reason)
{
	EVP_PKEY   *peer = webpush_public_pkey(peer_public, reason);
	EVP_PKEY_CTX *ctx = NULL;
	size_t		len = WEBPUSH_SECRET_LEN;
	bool		ok;

	if (peer == NULL)
		return false;
	ok = (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) != NULL &&
		EVP_PKEY_derive_init(ctx) == 1 &&
		EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		EVP_PKEY_derive(ctx, secret, &len) == 1 &&
		len == WEBPUSH_SECRET_LEN;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	if (!ok)
	{
		OPENSSL_cleanse(secret, WEBPUSH_SECRET_LEN);
		key_reason(reason, "ECDH with the peer's key failed");
	}
	return ok;
}

/*
 * One ECDH of RFC 8291 on raw keys: the application server's scalar (fresh
 * from OpenSSL's generator when as_private is NULL) times the subscription's
 * point, and the server's public point.  Plain EC_POINT arithmetic rather
 * than EVP key objects: OpenSSL 3's provider layer costs more than the
 * multiplications themselves, and the deliverer does this once per message.
 * Both multiplications are OpenSSL's constant-time ones (the scalar is
 * flagged BN_FLG_CONSTTIME).
 */
bool
webpush_agree(const uint8_t *as_private, const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
			  uint8_t as_public[WEBPUSH_PUBLIC_LEN], uint8_t secret[WEBPUSH_SECRET_LEN],
			  char *reason)
{
	const EC_GROUP *group = p256();
	BN_CTX	   *bn_ctx = NULL;
	BIGNUM	   *k = NULL;
	BIGNUM	   *x = NULL;
	EC_POINT   *own = NULL;
	EC_POINT   *peer = NULL;
	EC_POINT   *shared = NULL;
	bool		ok = false;

	memset(secret, 0, WEBPUSH_SECRET_LEN);
	if (group == NULL)
	{
		key_reason(reason, "OpenSSL has no P-256 curve");
		return false;
	}
	if ((bn_ctx = BN_CTX_secure_new()) == NULL || (k = BN_secure_new()) == NULL ||
		(x = BN_secure_new()) == NULL || (own = EC_POINT_new(group)) == NULL ||
		(peer = EC_POINT_new(group)) == NULL || (shared = EC_POINT_new(group)) == NULL)
	{
		key_reason(reason, "out of memory");
		goto done;
	}
	if (as_private != NULL)
	{
		if (BN_bin2bn(as_private, WEBPUSH_PRIVATE_LEN, k) == NULL || BN_is_zero(k) ||
			BN_cmp(k, EC_GROUP_get0_order(group)) >= 0)
		{
			key_reason(reason, "private key is not a P-256 scalar (zero or not below the group order)");
			goto done;
		}
	}
	else
	{
		do
		{
			if (BN_priv_rand_range(k, EC_GROUP_get0_order(group)) != 1)
			{
				key_reason(reason, "OpenSSL's random generator failed");
				goto done;
			}
		} while (BN_is_zero(k));
	}
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (EC_POINT_oct2point(group, peer, ua_public, WEBPUSH_PUBLIC_LEN, bn_ctx) != 1 ||
		ua_public[0] != 0x04 || EC_POINT_is_at_infinity(group, peer) ||
		EC_POINT_is_on_curve(group, peer, bn_ctx) != 1)
	{
		key_reason(reason, "subscription key (p256dh) is not an uncompressed P-256 point");
		goto done;
	}
	if (EC_POINT_mul(group, own, k, NULL, NULL, bn_ctx) != 1 ||
		EC_POINT_point2oct(group, own, POINT_CONVERSION_UNCOMPRESSED,
						   as_public, WEBPUSH_PUBLIC_LEN, bn_ctx) != WEBPUSH_PUBLIC_LEN ||
		EC_POINT_mul(group, shared, NULL, peer, k, bn_ctx) != 1 ||
		EC_POINT_is_at_infinity(group, shared) ||
		EC_POINT_get_affine_coordinates(group, shared, x, NULL, bn_ctx) != 1 ||
		BN_bn2binpad(x, secret, WEBPUSH_SECRET_LEN) != WEBPUSH_SECRET_LEN)
	{
		OPENSSL_cleanse(secret, WEBPUSH_SECRET_LEN);
		key_reason(reason, "ECDH with the subscription's key failed");
		goto done;
	}
	ok = true;

done:
	BN_clear_free(k);
	BN_clear_free(x);
	EC_POINT_free(own);
	EC_POINT_free(peer);
	EC_POINT_clear_free(shared);
	BN_CTX_free(bn_ctx);
	return ok;
}
