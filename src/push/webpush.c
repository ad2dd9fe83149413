/*
 * webpush.c
 *		Web Push message encryption: RFC 8291's key derivation over RFC 8188's
 *		aes128gcm content coding, one record per message.
 *
 * The application server's side (encrypt) is what the deliverer sends; the
 * user agent's side (decrypt) exists so tests and fuzzers can check the
 * round trip and the refusals a browser would make.  Every buffer holding a
 * secret (ECDH output, derived keys, decrypted text of a refused message) is
 * wiped before return on every path.
 */
#include "push/webpush.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/hmac.h"

/* The last-record delimiter of RFC 8188 section 2; 0x01 ends any other record. */
#define DELIMITER_LAST		0x02
#define DELIMITER_OTHER		0x01

/* RFC 8188 section 2.1: a record must hold at least the tag and a delimiter. */
#define MIN_RECORD_SIZE		(WEBPUSH_TAG_LEN + 2)

/* AES-128-GCM fetched once for the life of the process. */
static EVP_CIPHER *gcm_alg = NULL;

/* The intermediates of one derivation; wiped as a whole. */
typedef struct Derived
{
	uint8_t		prk_key[WEBPUSH_SECRET_LEN];
	uint8_t		ikm[WEBPUSH_SECRET_LEN];
	uint8_t		prk[WEBPUSH_SECRET_LEN];
	uint8_t		okm[HMAC_SHA256_LEN];
	uint8_t		cek[WEBPUSH_CEK_LEN];
	uint8_t		nonce[WEBPUSH_NONCE_LEN];
} Derived;

/* Writes a reason for the caller when it asked for one. */
static void push_reason(char *reason, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
push_reason(char *reason, const char *fmt,...)
{
	va_list		ap;

	if (reason == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, WEBPUSH_REASON_LEN, fmt, ap);
	va_end(ap);
}

/*
 * RFC 8291 section 3.4 and RFC 8188 section 2.2: from the ECDH secret, the
 * subscription's auth secret, both public keys and the salt, the content
 * encryption key and the nonce (of the first and only record: sequence 0).
 */
static bool
derive(const uint8_t ecdh_secret[WEBPUSH_SECRET_LEN],
	   const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
	   const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
	   const uint8_t as_public[WEBPUSH_PUBLIC_LEN],
	   const uint8_t salt[WEBPUSH_SALT_LEN], Derived *d)
{
	/* the labels include their terminating NUL, as the RFCs spell them */
	static const char key_info[] = "WebPush: info";
	static const char cek_info[] = "Content-Encoding: aes128gcm";
	static const char nonce_info[] = "Content-Encoding: nonce";
	static const uint8_t one = 0x01;
	HmacPart	ecdh_part[1] = {{ecdh_secret, WEBPUSH_SECRET_LEN}};
	HmacPart	ikm_parts[4] = {
		{key_info, sizeof(key_info)},
		{ua_public, WEBPUSH_PUBLIC_LEN},
		{as_public, WEBPUSH_PUBLIC_LEN},
		{&one, 1}
	};
	HmacPart	prk_part[1];
	HmacPart	cek_parts[2] = {{cek_info, sizeof(cek_info)}, {&one, 1}};
	HmacPart	nonce_parts[2] = {{nonce_info, sizeof(nonce_info)}, {&one, 1}};
	bool		ok;

	prk_part[0].data = d->ikm;
	prk_part[0].len = WEBPUSH_SECRET_LEN;
	/* HKDF-Extract(auth_secret, ecdh_secret), then one block of HKDF-Expand */
	ok = hmac_sha256(auth_secret, WEBPUSH_AUTH_LEN, ecdh_part, 1, d->prk_key) &&
		hmac_sha256(d->prk_key, WEBPUSH_SECRET_LEN, ikm_parts, 4, d->ikm) &&
	/* HKDF-Extract(salt, IKM) */
		hmac_sha256(salt, WEBPUSH_SALT_LEN, prk_part, 1, d->prk) &&
		hmac_sha256(d->prk, WEBPUSH_SECRET_LEN, cek_parts, 2, d->okm);
	if (ok)
	{
		memcpy(d->cek, d->okm, WEBPUSH_CEK_LEN);
		ok = hmac_sha256(d->prk, WEBPUSH_SECRET_LEN, nonce_parts, 2, d->okm);
	}
	if (ok)
		memcpy(d->nonce, d->okm, WEBPUSH_NONCE_LEN);
	return ok;
}

/* The cipher, or NULL when OpenSSL has none. */
static const EVP_CIPHER *
aes128gcm(void)
{
	if (gcm_alg == NULL)
		gcm_alg = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	return gcm_alg;
}

/* AES-128-GCM of plaintext || 0x02 || pad zeros into out, then the tag. */
static bool
seal_record(const Derived *d, const uint8_t *plaintext, size_t len, size_t pad, uint8_t *out)
{
	const EVP_CIPHER *cipher = aes128gcm();
	EVP_CIPHER_CTX *ctx;
	static const uint8_t zeros[256];
	uint8_t		delimiter = DELIMITER_LAST;
	uint8_t		final[16];
	size_t		pos;
	int			n = 0;
	bool		ok;

	if (cipher == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	ok = EVP_EncryptInit_ex2(ctx, cipher, d->cek, d->nonce, NULL) == 1;
	if (ok && len > 0)
		ok = EVP_EncryptUpdate(ctx, out, &n, plaintext, (int) len) == 1 && (size_t) n == len;
	ok = ok && EVP_EncryptUpdate(ctx, out + len, &n, &delimiter, 1) == 1 && n == 1;
	pos = len + 1;
	while (ok && pos < len + 1 + pad)
	{
		size_t		chunk = len + 1 + pad - pos;

		if (chunk > sizeof(zeros))
			chunk = sizeof(zeros);
		ok = EVP_EncryptUpdate(ctx, out + pos, &n, zeros, (int) chunk) == 1 && (size_t) n == chunk;
		pos += chunk;
	}
	ok = ok && EVP_EncryptFinal_ex(ctx, final, &n) == 1 && n == 0 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WEBPUSH_TAG_LEN, out + pos) == 1;
	EVP_CIPHER_CTX_free(ctx);	/* also wipes the key schedule */
	return ok;
}

/* AES-128-GCM decryption of a record (ciphertext then tag) into out; false if the tag differs. */
static bool
open_record(const Derived *d, const uint8_t *record, size_t len, uint8_t *out)
{
	const EVP_CIPHER *cipher = aes128gcm();
	EVP_CIPHER_CTX *ctx;
	size_t		body = len - WEBPUSH_TAG_LEN;
	uint8_t		final[16];
	int			n = 0;
	bool		ok;

	if (cipher == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	ok = EVP_DecryptInit_ex2(ctx, cipher, d->cek, d->nonce, NULL) == 1 &&
		EVP_DecryptUpdate(ctx, out, &n, record, (int) body) == 1 && (size_t) n == body &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WEBPUSH_TAG_LEN,
							(void *) (record + body)) == 1 &&
		EVP_DecryptFinal_ex(ctx, final, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

bool
webpush_encrypt(const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
				const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
				const uint8_t *plaintext, size_t len,
				const WebPushFixed *fixed,
				uint8_t *out, size_t cap, size_t *out_len,
				WebPushTrace *trace, char *reason)
{
	return webpush_encrypt_padded(ua_public, auth_secret, plaintext, len, 0, fixed,
								  out, cap, out_len, trace, reason);
}

bool
webpush_encrypt_padded(const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
					   const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
					   const uint8_t *plaintext, size_t len, size_t pad,
					   const WebPushFixed *fixed,
					   uint8_t *out, size_t cap, size_t *out_len,
					   WebPushTrace *trace, char *reason)
{
	uint8_t		as_public[WEBPUSH_PUBLIC_LEN];
	uint8_t		salt[WEBPUSH_SALT_LEN];
	uint8_t		ecdh_secret[WEBPUSH_SECRET_LEN];
	Derived		d;
	bool		ok = false;

	if (out_len != NULL)
		*out_len = 0;
	memset(&d, 0, sizeof(d));
	memset(ecdh_secret, 0, sizeof(ecdh_secret));
	if (len > WEBPUSH_MAX_PLAINTEXT || pad > WEBPUSH_MAX_PLAINTEXT - len)
	{
		push_reason(reason, "payload of %zu bytes (and %zu of padding) is over the %d bytes a push message holds",
					len, pad, WEBPUSH_MAX_PLAINTEXT);
		return false;
	}
	if (cap < WEBPUSH_PADDED_LEN(len, pad))
	{
		push_reason(reason, "output buffer of %zu bytes is smaller than the %zu the message needs",
					cap, (size_t) WEBPUSH_PADDED_LEN(len, pad));
		return false;
	}
	if (!webpush_point_valid(ua_public, WEBPUSH_PUBLIC_LEN))
	{
		push_reason(reason, "subscription key (p256dh) is not an uncompressed P-256 point");
		return false;
	}

	/* the key (fresh, or the fixed one of a test) and the salt */
	if (!webpush_agree(fixed ? fixed->as_private : NULL, ua_public, as_public, ecdh_secret, reason))
		goto done;
	if (fixed != NULL)
		memcpy(salt, fixed->salt, WEBPUSH_SALT_LEN);
	else if (RAND_bytes(salt, WEBPUSH_SALT_LEN) != 1)
	{
		push_reason(reason, "OpenSSL's random generator failed");
		goto done;
	}
	if (!derive(ecdh_secret, auth_secret, ua_public, as_public, salt, &d))
	{
		push_reason(reason, "key derivation failed");
		goto done;
	}

	/* RFC 8188 section 2.1: salt, rs (big-endian), idlen, keyid = as_public */
	memcpy(out, salt, WEBPUSH_SALT_LEN);
	out[16] = (uint8_t) (WEBPUSH_RECORD_SIZE >> 24);
	out[17] = (uint8_t) (WEBPUSH_RECORD_SIZE >> 16);
	out[18] = (uint8_t) (WEBPUSH_RECORD_SIZE >> 8);
	out[19] = (uint8_t) WEBPUSH_RECORD_SIZE;
	out[20] = WEBPUSH_PUBLIC_LEN;
	memcpy(out + 21, as_public, WEBPUSH_PUBLIC_LEN);
	if (!seal_record(&d, plaintext, len, pad, out + WEBPUSH_HEADER_LEN))
	{
		push_reason(reason, "AES-128-GCM encryption failed");
		goto done;
	}
	if (trace != NULL)
	{
		memcpy(trace->ecdh_secret, ecdh_secret, WEBPUSH_SECRET_LEN);
		memcpy(trace->prk_key, d.prk_key, WEBPUSH_SECRET_LEN);
		memcpy(trace->ikm, d.ikm, WEBPUSH_SECRET_LEN);
		memcpy(trace->prk, d.prk, WEBPUSH_SECRET_LEN);
		memcpy(trace->cek, d.cek, WEBPUSH_CEK_LEN);
		memcpy(trace->nonce, d.nonce, WEBPUSH_NONCE_LEN);
		memcpy(trace->as_public, as_public, WEBPUSH_PUBLIC_LEN);
	}
	if (out_len != NULL)
		*out_len = WEBPUSH_PADDED_LEN(len, pad);
	ok = true;

done:
	OPENSSL_cleanse(ecdh_secret, sizeof(ecdh_secret));
	OPENSSL_cleanse(&d, sizeof(d));
	if (!ok)
		OPENSSL_cleanse(out, WEBPUSH_PADDED_LEN(len, pad));
	return ok;
}

bool
webpush_decrypt(const uint8_t ua_private[WEBPUSH_PRIVATE_LEN],
				const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
				const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
				const uint8_t *msg, size_t len,
				uint8_t *out, size_t cap, size_t *out_len, char *reason)
{
	EVP_PKEY   *ua_key = NULL;
	uint8_t		ecdh_secret[WEBPUSH_SECRET_LEN];
	Derived		d;
	uint32_t	rs;
	size_t		record_len;
	size_t		plain_len = 0;
	size_t		end;
	bool		ok = false;

	if (out_len != NULL)
		*out_len = 0;
	memset(&d, 0, sizeof(d));
	memset(ecdh_secret, 0, sizeof(ecdh_secret));
	if (msg == NULL || len < WEBPUSH_HEADER_LEN)
	{
		push_reason(reason, "message of %zu bytes is shorter than the %d-byte header",
					msg ? len : 0, WEBPUSH_HEADER_LEN);
		return false;
	}
	rs = (uint32_t) msg[16] << 24 | (uint32_t) msg[17] << 16 | (uint32_t) msg[18] << 8 | msg[19];
	if (rs < MIN_RECORD_SIZE)
	{
		push_reason(reason, "record size %u is below the minimum of %d", rs, MIN_RECORD_SIZE);
		return false;
	}
	if (msg[20] != WEBPUSH_PUBLIC_LEN)
	{
		push_reason(reason, "key id is %u bytes, not a %d-byte P-256 point", msg[20], WEBPUSH_PUBLIC_LEN);
		return false;
	}
	if (!webpush_point_valid(msg + 21, WEBPUSH_PUBLIC_LEN))
	{
		push_reason(reason, "key id is not an uncompressed P-256 point");
		return false;
	}
	record_len = len - WEBPUSH_HEADER_LEN;
	if (record_len < WEBPUSH_TAG_LEN + 1)
	{
		push_reason(reason, "record of %zu bytes cannot hold a delimiter and a tag", record_len);
		return false;
	}
	if (record_len > rs)
	{
		push_reason(reason, "message holds more than one record (%zu bytes, record size %u)",
					record_len, rs);
		return false;
	}
	plain_len = record_len - WEBPUSH_TAG_LEN;
	if (cap < plain_len)
	{
		push_reason(reason, "output buffer of %zu bytes is smaller than the %zu the record needs",
					cap, plain_len);
		return false;
	}
	if (!webpush_point_valid(ua_public, WEBPUSH_PUBLIC_LEN))
	{
		push_reason(reason, "subscription key (p256dh) is not an uncompressed P-256 point");
		return false;
	}

	if ((ua_key = webpush_private_pkey(ua_private, reason)) == NULL ||
		!webpush_ecdh(ua_key, msg + 21, ecdh_secret, reason))
		goto done;
	if (!derive(ecdh_secret, auth_secret, ua_public, msg + 21, msg, &d))
	{
		push_reason(reason, "key derivation failed");
		goto done;
	}
	if (!open_record(&d, msg + WEBPUSH_HEADER_LEN, record_len, out))
	{
		push_reason(reason, "authentication tag does not match (altered message or other keys)");
		goto done;
	}

	/* RFC 8188 section 2: padding is zeros after the delimiter */
	end = plain_len;
	while (end > 0 && out[end - 1] == 0)
		end--;
	if (end == 0)
		push_reason(reason, "record has no delimiter");
	else if (out[end - 1] == DELIMITER_OTHER)
		push_reason(reason, "record is not marked as the last one");
	else if (out[end - 1] != DELIMITER_LAST)
		push_reason(reason, "record ends in 0x%02x, not a delimiter", out[end - 1]);
	else
	{
		if (out_len != NULL)
			*out_len = end - 1;
		ok = true;
	}

done:
	EVP_PKEY_free(ua_key);
	OPENSSL_cleanse(ecdh_secret, sizeof(ecdh_secret));
	OPENSSL_cleanse(&d, sizeof(d));
	if (!ok)
		OPENSSL_cleanse(out, plain_len);
	return ok;
}
