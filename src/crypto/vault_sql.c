/*
 * vault_sql.c
 *		SQL functions of the vault: seal and open secrets bound to their
 *		owner, and the key ids rotation needs.  Internal: never granted to
 *		applications; the features' SECURITY DEFINER functions call them.
 *
 * The AAD is (organization, context, row id) in vault_aad_build's canonical
 * form.  Errors name the context, never the data.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "crypto/keys.h"
#include "crypto/vault.h"

/* Longest context or row id, in bytes. */
#define VAULT_SQL_NAME_MAX	1024

/* The AAD of a call's organization_id (arg 1), context (2) and row_id (3); context names the value in errors. */
static uint8 *
vault_sql_aad(FunctionCallInfo fcinfo, size_t *aad_len, char **context)
{
	const uint8 *org = PG_ARGISNULL(1) ? NULL : PG_GETARG_UUID_P(1)->data;
	text	   *ctx;
	text	   *row;
	size_t		ctx_len;
	size_t		row_len;
	uint8	   *aad;

	if (PG_ARGISNULL(2) ||
		(ctx_len = VARSIZE_ANY_EXHDR(ctx = PG_GETARG_TEXT_PP(2))) == 0 ||
		ctx_len > VAULT_SQL_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid context"),
				 errdetail("context must name the table and column of the secret, such as \"webhook_subscriptions.secret\", in at most %d bytes.",
						   VAULT_SQL_NAME_MAX)));
	if (PG_ARGISNULL(3) ||
		(row_len = VARSIZE_ANY_EXHDR(row = PG_GETARG_TEXT_PP(3))) > VAULT_SQL_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid row_id"),
				 errdetail("row_id must identify the row holding the secret, in at most %d bytes.",
						   VAULT_SQL_NAME_MAX)));
	aad = palloc(VAULT_AAD_LEN(ctx_len, row_len));
	*aad_len = vault_aad_build(org, VARDATA_ANY(ctx), ctx_len, VARDATA_ANY(row), row_len,
							   aad, VAULT_AAD_LEN(ctx_len, row_len));
	*context = text_to_cstring(ctx);
	return aad;
}

/* Seals len bytes of data under the current key for the call's owner. */
static bytea *
vault_sql_seal(FunctionCallInfo fcinfo, const char *data, size_t len)
{
	size_t		aad_len;
	char	   *context;
	uint8	   *aad = vault_sql_aad(fcinfo, &aad_len, &context);
	const VaultKey *key;
	bytea	   *out;
	size_t		out_len;
	char		reason[VAULT_REASON_LEN];

	if (len > MaxAllocSize - VARHDRSZ - VAULT_OVERHEAD)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the value of \"%s\" is too long to seal", context)));
	key = keys_current();
	out = palloc(VARHDRSZ + VAULT_SEALED_LEN(len));
	if (!vault_seal(key->seal_key, key->id, aad, aad_len, (const uint8 *) data, len,
					(uint8 *) VARDATA(out), VAULT_SEALED_LEN(len), &out_len, reason))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not seal the value of \"%s\"", context),
				 errdetail("%s", reason)));
	SET_VARSIZE(out, VARHDRSZ + out_len);
	return out;
}

/* The key id of an envelope; 22023 when it is not one. */
static uint32
vault_sql_key_id(bytea *env)
{
	uint32		key_id;

	if (!vault_envelope_key_id((const uint8 *) VARDATA_ANY(env), VARSIZE_ANY_EXHDR(env), &key_id) ||
		key_id > KEYRING_ID_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ciphertext"),
				 errdetail("ciphertext must be a value sealed by wib.vault_seal.")));
	return key_id;
}

/*
 * Opens the envelope of arg 0 for the call's owner into a palloc'd buffer
 * (one spare byte) and its length; WB009 when it does not open.
 */
static uint8 *
vault_sql_open(FunctionCallInfo fcinfo, size_t *len)
{
	bytea	   *env = PG_GETARG_BYTEA_PP(0);
	size_t		env_len = VARSIZE_ANY_EXHDR(env);
	size_t		aad_len;
	char	   *context;
	uint8	   *aad = vault_sql_aad(fcinfo, &aad_len, &context);
	uint32		key_id;
	const VaultKey *key;
	uint8	   *out;
	char		reason[VAULT_REASON_LEN];

	if (!vault_envelope_key_id((const uint8 *) VARDATA_ANY(env), env_len, &key_id))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_VAULT_DECRYPT_FAILED),
				 errmsg("could not open the sealed value of \"%s\"", context),
				 errdetail("It is not a vault envelope: it is truncated or of an unknown version.")));
	key = keys_lookup(key_id);
	out = palloc(env_len - VAULT_OVERHEAD + 1);
	if (!vault_open(key->seal_key, aad, aad_len, (const uint8 *) VARDATA_ANY(env), env_len,
					out, env_len - VAULT_OVERHEAD, len, reason))
		ereport(ERROR,
				(errcode(ERRCODE_WIB_VAULT_DECRYPT_FAILED),
				 errmsg("could not open the sealed value of \"%s\"", context),
				 errdetail("It was altered, belongs to another row or organization, or was sealed under another key with the same id.")));
	return out;
}

/* wib.vault_seal(plaintext, organization_id, context, row_id): the sealed text; NULL for NULL. */
PG_FUNCTION_INFO_V1(wib_vault_seal);
Datum
wib_vault_seal(PG_FUNCTION_ARGS)
{
	text	   *plain;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plain = PG_GETARG_TEXT_PP(0);
	PG_RETURN_BYTEA_P(vault_sql_seal(fcinfo, VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain)));
}

/* wib.vault_seal_bytes(plaintext, organization_id, context, row_id): the same for binary secrets. */
PG_FUNCTION_INFO_V1(wib_vault_seal_bytes);
Datum
wib_vault_seal_bytes(PG_FUNCTION_ARGS)
{
	bytea	   *plain;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plain = PG_GETARG_BYTEA_PP(0);
	PG_RETURN_BYTEA_P(vault_sql_seal(fcinfo, VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain)));
}

/* wib.vault_open(ciphertext, organization_id, context, row_id): the text sealed for that owner. */
PG_FUNCTION_INFO_V1(wib_vault_open);
Datum
wib_vault_open(PG_FUNCTION_ARGS)
{
	size_t		len;
	uint8	   *plain;
	text	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plain = vault_sql_open(fcinfo, &len);
	/* Checked quietly: the server's own message would quote the offending bytes. */
	if (!pg_verifymbstr((const char *) plain, (int) len, true))
	{
		explicit_bzero(plain, len);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("the sealed value is not text in the database encoding"),
				 errhint("Open binary secrets with wib.vault_open_bytes.")));
	}
	result = cstring_to_text_with_len((const char *) plain, (int) len);
	explicit_bzero(plain, len);
	pfree(plain);
	PG_RETURN_TEXT_P(result);
}

/* wib.vault_open_bytes(ciphertext, organization_id, context, row_id): the bytes sealed for that owner. */
PG_FUNCTION_INFO_V1(wib_vault_open_bytes);
Datum
wib_vault_open_bytes(PG_FUNCTION_ARGS)
{
	size_t		len;
	uint8	   *plain;
	bytea	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plain = vault_sql_open(fcinfo, &len);
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), plain, len);
	explicit_bzero(plain, len);
	pfree(plain);
	PG_RETURN_BYTEA_P(result);
}

/* wib.vault_key_id(ciphertext): the id of the key a value was sealed under. */
PG_FUNCTION_INFO_V1(wib_vault_key_id);
Datum
wib_vault_key_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) vault_sql_key_id(PG_GETARG_BYTEA_PP(0)));
}

/* wib.vault_current_key_id(): the id of the key new values are sealed under. */
PG_FUNCTION_INFO_V1(wib_vault_current_key_id);
Datum
wib_vault_current_key_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) keys_current()->id);
}

/* wib.vault_needs_rotation(ciphertext): true when sealed under a key other than the current one. */
PG_FUNCTION_INFO_V1(wib_vault_needs_rotation);
Datum
wib_vault_needs_rotation(PG_FUNCTION_ARGS)
{
	uint32		key_id = vault_sql_key_id(PG_GETARG_BYTEA_PP(0));

	PG_RETURN_BOOL(key_id != keys_current()->id);
}
