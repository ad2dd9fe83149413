/*
 * push_sql.c
 *		SQL functions over the Web Push and VAPID kernels: the checks
 *		wib.push_subscribe makes, the VAPID key pair wib.vapid_configure
 *		seals, and the encryption, decryption and token functions the
 *		regression suite reproduces RFC 8291 and RFC 8292 with.
 *
 * All are internal: closed to PUBLIC and granted to no role.  Key material
 * passed through them is wiped from the C buffers that held it.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "crypto/codec.h"
#include "http/http_settings.h"
#include "http/url_guard.h"
#include "push/push_settings.h"
#include "push/vapid.h"
#include "push/vapid_json.h"
#include "push/webpush.h"

extern Datum wib_vault_seal_bytes(PG_FUNCTION_ARGS);

/* Longest text wib.base64url_decode accepts: a push body and then some. */
#define BASE64URL_TEXT_MAX	(1024 * 1024)

/* The bytes of a bytea argument that must be exactly len long, or 22023 naming it. */
static const uint8 *
fixed_arg(FunctionCallInfo fcinfo, int argno, size_t len, const char *name)
{
	bytea	   *b;

	if (PG_ARGISNULL(argno) || VARSIZE_ANY_EXHDR(b = PG_GETARG_BYTEA_PP(argno)) != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", name),
				 errdetail("%s must be %zu bytes.", name, len)));
	return (const uint8 *) VARDATA_ANY(b);
}

/* A bytea of len bytes copied from data. */
static bytea *
to_bytea(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

PG_FUNCTION_INFO_V1(wib_base64url_encode);

/* wib.base64url_encode(bytes): unpadded base64url (RFC 4648 section 5), as Web Push keys are written. */
Datum
wib_base64url_encode(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	char	   *out = palloc(CODEC_BASE64URL_LEN(len));

	codec_base64url_encode((const uint8 *) VARDATA_ANY(in), len, out);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(wib_base64url_decode);

/* wib.base64url_decode(text): the bytes, or NULL when the text is not base64url (padding optional). */
Datum
wib_base64url_decode(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	bytea	   *out;
	int			n;

	if (len > BASE64URL_TEXT_MAX)
		PG_RETURN_NULL();
	out = palloc(VARHDRSZ + len);
	n = codec_base64url_decode(VARDATA_ANY(in), len, (uint8 *) VARDATA(out), len);
	if (n < 0)
		PG_RETURN_NULL();
	SET_VARSIZE(out, VARHDRSZ + n);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(wib_strong_random);

/* wib.strong_random(n): n bytes from pg_strong_random (the operating system's generator). */
Datum
wib_strong_random(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	bytea	   *out;

	if (n < 1 || n > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid n"),
				 errdetail("n must be between 1 and 1024, not %d.", n)));
	out = palloc(VARHDRSZ + n);
	SET_VARSIZE(out, VARHDRSZ + n);
	if (!pg_strong_random(VARDATA(out), n))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(wib_webpush_point_valid);

/* wib.webpush_point_valid(key): true for a 65-byte uncompressed point on P-256 (a browser's p256dh). */
Datum
wib_webpush_point_valid(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BOOL(webpush_point_valid((const uint8 *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)));
}

/*
 * Encrypts the plaintext of args 2 for the subscription of args 0-1, with
 * the fixed key and salt of args 3-4 when given (both or neither) and pad
 * bytes of padding; the message, and the intermediates in trace.
 */
static bytea *
encrypt_args(FunctionCallInfo fcinfo, int pad, WebPushTrace *trace)
{
	const uint8 *ua_public = fixed_arg(fcinfo, 0, WEBPUSH_PUBLIC_LEN, "ua_public");
	const uint8 *auth = fixed_arg(fcinfo, 1, WEBPUSH_AUTH_LEN, "auth_secret");
	bytea	   *plain;
	WebPushFixed fixed;
	bool		use_fixed = !PG_ARGISNULL(3) || !PG_ARGISNULL(4);
	size_t		len;
	size_t		out_len;
	bytea	   *out;
	char		reason[WEBPUSH_REASON_LEN];
	bool		ok;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid plaintext"),
				 errdetail("plaintext must not be NULL.")));
	plain = PG_GETARG_BYTEA_PP(2);
	len = VARSIZE_ANY_EXHDR(plain);
	if (pad < 0 || len > WEBPUSH_MAX_PLAINTEXT || (size_t) pad > WEBPUSH_MAX_PLAINTEXT - len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid plaintext"),
				 errdetail("plaintext and padding must fit in one push message: at most %d bytes together.",
						   WEBPUSH_MAX_PLAINTEXT)));
	if (use_fixed)
	{
		memcpy(fixed.as_private, fixed_arg(fcinfo, 3, WEBPUSH_PRIVATE_LEN, "as_private"),
			   WEBPUSH_PRIVATE_LEN);
		memcpy(fixed.salt, fixed_arg(fcinfo, 4, WEBPUSH_SALT_LEN, "salt"), WEBPUSH_SALT_LEN);
	}
	out = palloc(VARHDRSZ + WEBPUSH_PADDED_LEN(len, pad));
	ok = webpush_encrypt_padded(ua_public, auth, (const uint8 *) VARDATA_ANY(plain), len, pad,
								use_fixed ? &fixed : NULL, (uint8 *) VARDATA(out),
								WEBPUSH_PADDED_LEN(len, pad), &out_len, trace, reason);
	OPENSSL_cleanse(&fixed, sizeof(fixed));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not encrypt the push message"),
				 errdetail("%s.", reason)));
	SET_VARSIZE(out, VARHDRSZ + out_len);
	return out;
}

PG_FUNCTION_INFO_V1(wib_webpush_encrypt);

/*
 * wib.webpush_encrypt(ua_public, auth_secret, plaintext, as_private, salt, pad):
 * the aes128gcm message (RFC 8291) for a subscription; a fresh key and salt
 * unless as_private and salt are given (tests).
 */
Datum
wib_webpush_encrypt(PG_FUNCTION_ARGS)
{
	int32		pad = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);

	PG_RETURN_BYTEA_P(encrypt_args(fcinfo, pad, NULL));
}

PG_FUNCTION_INFO_V1(wib_webpush_encrypt_trace);

/*
 * wib.webpush_encrypt_trace(ua_public, auth_secret, plaintext, as_private,
 * salt): the message and every intermediate RFC 8291 appendix A lists.
 */
Datum
wib_webpush_encrypt_trace(PG_FUNCTION_ARGS)
{
	WebPushTrace trace;
	TupleDesc	desc;
	Datum		values[8];
	bool		nulls[8] = {0};
	bytea	   *message;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.webpush_encrypt_trace must return a record")));
	memset(&trace, 0, sizeof(trace));
	message = encrypt_args(fcinfo, 0, &trace);
	values[0] = PointerGetDatum(to_bytea(trace.ecdh_secret, WEBPUSH_SECRET_LEN));
	values[1] = PointerGetDatum(to_bytea(trace.prk_key, WEBPUSH_SECRET_LEN));
	values[2] = PointerGetDatum(to_bytea(trace.ikm, WEBPUSH_SECRET_LEN));
	values[3] = PointerGetDatum(to_bytea(trace.prk, WEBPUSH_SECRET_LEN));
	values[4] = PointerGetDatum(to_bytea(trace.cek, WEBPUSH_CEK_LEN));
	values[5] = PointerGetDatum(to_bytea(trace.nonce, WEBPUSH_NONCE_LEN));
	values[6] = PointerGetDatum(to_bytea(trace.as_public, WEBPUSH_PUBLIC_LEN));
	values[7] = PointerGetDatum(message);
	OPENSSL_cleanse(&trace, sizeof(trace));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(wib_webpush_decrypt);

/*
 * wib.webpush_decrypt(ua_private, ua_public, auth_secret, message): the user
 * agent's side, the plaintext of a message; 22023 with the reason when a
 * browser would refuse it.
 */
Datum
wib_webpush_decrypt(PG_FUNCTION_ARGS)
{
	const uint8 *ua_private = fixed_arg(fcinfo, 0, WEBPUSH_PRIVATE_LEN, "ua_private");
	const uint8 *ua_public = fixed_arg(fcinfo, 1, WEBPUSH_PUBLIC_LEN, "ua_public");
	const uint8 *auth = fixed_arg(fcinfo, 2, WEBPUSH_AUTH_LEN, "auth_secret");
	bytea	   *msg;
	size_t		len;
	size_t		out_len;
	bytea	   *out;
	char		reason[WEBPUSH_REASON_LEN];

	if (PG_ARGISNULL(3) || (len = VARSIZE_ANY_EXHDR(msg = PG_GETARG_BYTEA_PP(3))) > WEBPUSH_MAX_BODY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid message"),
				 errdetail("message must be a push message of at most %d bytes.", WEBPUSH_MAX_BODY)));
	out = palloc(VARHDRSZ + len + 1);
	if (!webpush_decrypt(ua_private, ua_public, auth, (const uint8 *) VARDATA_ANY(msg), len,
						 (uint8 *) VARDATA(out), len, &out_len, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not decrypt the push message"),
				 errdetail("%s.", reason)));
	SET_VARSIZE(out, VARHDRSZ + out_len);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(wib_vapid_generate_key);

/*
 * wib.vapid_generate_key(row_id): a fresh VAPID key pair, the public point in
 * the clear and the private scalar sealed by the vault (platform secret:
 * organization NULL, context vapid_keys.private_key, the row's id), so the
 * private key never appears in SQL.
 */
Datum
wib_vapid_generate_key(PG_FUNCTION_ARGS)
{
	text	   *row_id = PG_GETARG_TEXT_PP(0);
	uint8		priv[WEBPUSH_PRIVATE_LEN];
	uint8		pub[WEBPUSH_PUBLIC_LEN];
	char		reason[WEBPUSH_REASON_LEN];
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {0};
	Datum		sealed;

	LOCAL_FCINFO(seal, 4);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.vapid_generate_key must return a record")));
	if (!webpush_keypair(priv, pub, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a VAPID key pair"),
				 errdetail("%s.", reason)));
	InitFunctionCallInfoData(*seal, NULL, 4, InvalidOid, NULL, NULL);
	seal->args[0].value = PointerGetDatum(to_bytea(priv, WEBPUSH_PRIVATE_LEN));
	seal->args[0].isnull = false;
	OPENSSL_cleanse(priv, sizeof(priv));
	seal->args[1].value = (Datum) 0;
	seal->args[1].isnull = true;
	seal->args[2].value = CStringGetTextDatum("vapid_keys.private_key");
	seal->args[2].isnull = false;
	seal->args[3].value = PointerGetDatum(row_id);
	seal->args[3].isnull = false;
	sealed = wib_vault_seal_bytes(seal);
	OPENSSL_cleanse(VARDATA(DatumGetPointer(seal->args[0].value)), WEBPUSH_PRIVATE_LEN);
	values[0] = PointerGetDatum(to_bytea(pub, WEBPUSH_PUBLIC_LEN));
	values[1] = sealed;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(wib_vapid_jwt_sign);

/* wib.vapid_jwt_sign(private_key, aud, exp, sub): an ES256 VAPID token (RFC 8292). */
Datum
wib_vapid_jwt_sign(PG_FUNCTION_ARGS)
{
	const uint8 *priv = fixed_arg(fcinfo, 0, WEBPUSH_PRIVATE_LEN, "private_key");
	char	   *aud;
	char	   *sub;
	char		jwt[VAPID_JWT_MAX];
	char		reason[VAPID_REASON_LEN];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid claims"),
				 errdetail("aud, exp and sub must not be NULL.")));
	aud = text_to_cstring(PG_GETARG_TEXT_PP(1));
	sub = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!vapid_jwt_sign(priv, aud, PG_GETARG_INT64(2), sub, jwt, sizeof(jwt), reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not sign the VAPID token"),
				 errdetail("%s.", reason)));
	PG_RETURN_TEXT_P(cstring_to_text(jwt));
}

PG_FUNCTION_INFO_V1(wib_vapid_jwt_verify);

/* wib.vapid_jwt_verify(public_key, jwt): true when the token's ES256 signature verifies under the key. */
Datum
wib_vapid_jwt_verify(PG_FUNCTION_ARGS)
{
	bytea	   *pub = PG_GETARG_BYTEA_PP(0);
	text	   *jwt = PG_GETARG_TEXT_PP(1);

	if (VARSIZE_ANY_EXHDR(pub) != WEBPUSH_PUBLIC_LEN)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(vapid_jwt_verify((const uint8 *) VARDATA_ANY(pub), VARDATA_ANY(jwt),
									VARSIZE_ANY_EXHDR(jwt), NULL));
}

PG_FUNCTION_INFO_V1(wib_vapid_jwt_claims);

/* wib.vapid_jwt_claims(jwt): aud, exp and sub of a token (signature not checked); 22023 when malformed. */
Datum
wib_vapid_jwt_claims(PG_FUNCTION_ARGS)
{
	text	   *jwt = PG_GETARG_TEXT_PP(0);
	VapidClaims claims;
	char		reason[VAPID_REASON_LEN];
	char		buf[VAPID_CLAIMS_MAX + 64];
	size_t		pos = 0;
	bool		ok;

	if (!vapid_jwt_claims(VARDATA_ANY(jwt), VARSIZE_ANY_EXHDR(jwt), &claims, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid jwt"),
				 errdetail("%s.", reason)));
	strcpy(buf, "{\"aud\":");
	pos = strlen(buf);
	ok = vapid_json_string(buf, sizeof(buf), &pos, claims.aud);
	if (ok && pos + 8 < sizeof(buf))
	{
		strcpy(buf + pos, ",\"sub\":");
		pos += strlen(buf + pos);
		ok = vapid_json_string(buf, sizeof(buf), &pos, claims.sub);
	}
	if (!ok || pos + 32 > sizeof(buf))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid jwt"),
				 errdetail("Its claims are too long.")));
	snprintf(buf + pos, sizeof(buf) - pos, ",\"exp\":" INT64_FORMAT "}", (int64) claims.exp);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)));
}

PG_FUNCTION_INFO_V1(wib_push_endpoint_check);

/*
 * wib.push_endpoint_check(endpoint): NULL when a subscription may name the
 * endpoint (the SSRF guard allows it and its host is one of
 * wib.push_allowed_hosts), else the reason.
 */
Datum
wib_push_endpoint_check(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];
	char		aud[VAPID_AUD_MAX];

	if (!url_guard_check(http_guard_policy(), url, &target, reason))
		PG_RETURN_TEXT_P(cstring_to_text(reason));
	if (!vapid_audience(url, aud, sizeof(aud), http_allow_http))
		PG_RETURN_TEXT_P(cstring_to_text("it has no origin a VAPID token can name"));
	if (!push_host_allowed(target.bare_host))
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("host \"%s\" is not a push service of wib.push_allowed_hosts",
												  target.bare_host)));
	PG_RETURN_NULL();
}
