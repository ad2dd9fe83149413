/*
 * token.c
 *		Download tokens: the export's pre-signed URL.
 *
 * A token is "v1.<job id>.<organization id>.<expiry, Unix seconds>.<HMAC>",
 * where HMAC is HMAC-SHA256 in hex over everything before it, under a key the
 * tenants never see: wib.export_signing_key (superuser-only) or, when that is
 * empty, 32 random bytes generated once into wib_export_signing.key in the
 * data directory (mode 0600).  Signatures are compared in constant time.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "export/files.h"
#include "export/token.h"

#define TOKEN_KEY_FILE	"wib_export_signing.key"
#define TOKEN_KEY_LEN	32
#define TOKEN_PREFIX	"v1."

static uint8 file_key[TOKEN_KEY_LEN];
static bool file_key_loaded = false;

/* The token opened last, valid for the rest of the transaction that opened it. */
static pg_uuid_t opened_job;
static pg_uuid_t opened_org;
static TimestampTz opened_expires;
static LocalTransactionId opened_lxid = InvalidLocalTransactionId;

/* Reads the generated key file, creating it with a random key the first time. */
static void
token_load_key_file(void)
{
	int			fd;
	ssize_t		n;

	fd = OpenTransientFilePerm(TOKEN_KEY_FILE, O_RDONLY | PG_BINARY, 0600);
	if (fd < 0 && errno == ENOENT)
	{
		uint8		fresh[TOKEN_KEY_LEN];

		if (!pg_strong_random(fresh, sizeof(fresh)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate the export signing key")));
		fd = OpenTransientFilePerm(TOKEN_KEY_FILE, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, 0600);
		if (fd >= 0)
		{
			if (write(fd, fresh, sizeof(fresh)) != sizeof(fresh) || pg_fsync(fd) != 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not write \"%s\": %m", TOKEN_KEY_FILE)));
			CloseTransientFile(fd);
		}
		else if (errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create \"%s\": %m", TOKEN_KEY_FILE)));
		fd = OpenTransientFilePerm(TOKEN_KEY_FILE, O_RDONLY | PG_BINARY, 0600);
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s\": %m", TOKEN_KEY_FILE)));
	n = read(fd, file_key, sizeof(file_key));
	CloseTransientFile(fd);
	if (n != sizeof(file_key))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("export signing key file \"%s\" is damaged", TOKEN_KEY_FILE),
				 errhint("Remove it to generate a new key (outstanding download links stop working).")));
	file_key_loaded = true;
}

/* The signing key: the setting when set, else the generated key file. */
static const uint8 *
token_key(size_t *len)
{
	if (export_signing_key && export_signing_key[0] != '\0')
	{
		*len = strlen(export_signing_key);
		if (*len < 32)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("wib.export_signing_key is too short"),
					 errdetail("The key must be at least 32 characters.")));
		return (const uint8 *) export_signing_key;
	}
	if (!file_key_loaded)
		token_load_key_file();
	*len = TOKEN_KEY_LEN;
	return file_key;
}

/* HMAC-SHA256 of data under the signing key, as 64 hex digits in out. */
static void
token_mac(const char *data, size_t len, char *out)
{
	size_t		keylen;
	const uint8 *key = token_key(&keylen);
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	int			i;

	if (ctx == NULL || pg_hmac_init(ctx, key, keylen) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the export token")));
	pg_hmac_free(ctx);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
}

/* wib.export_token_sign(job, organization, expires_at): a signed token.  Internal. */
PG_FUNCTION_INFO_V1(wib_export_token_sign);
Datum
wib_export_token_sign(PG_FUNCTION_ARGS)
{
	char	   *job = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	char	   *org = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(1)));
	TimestampTz expires = PG_GETARG_TIMESTAMPTZ(2);
	int64		expires_s = (expires - SetEpochTimestamp()) / USECS_PER_SEC;
	char	   *payload = psprintf(TOKEN_PREFIX "%s.%s.%lld", job, org, (long long) expires_s);
	char		mac[PG_SHA256_DIGEST_LENGTH * 2 + 1];

	token_mac(payload, strlen(payload), mac);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s.%s", payload, mac)));
}

/* Raises WB201 for a token that is malformed or not signed by our key. */
static void
token_invalid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_WIB_EXPORT_TOKEN_INVALID),
			 errmsg("invalid download token"),
			 errdetail("The token is malformed or its signature does not match.")));
}

/*
 * wib.export_token_verify(token): (job_id, organization_id, expires_at) of a
 * genuine, unexpired token; WB201 when forged or malformed, WB202 when expired.
 */
PG_FUNCTION_INFO_V1(wib_export_token_verify);
Datum
wib_export_token_verify(PG_FUNCTION_ARGS)
{
	char	   *token;
	char	   *dot;
	char	   *job_s;
	char	   *org_s;
	char	   *exp_s;
	char	   *end;
	char		mac[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	long long	expires_s;
	TimestampTz expires;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (PG_ARGISNULL(0))
		token_invalid();
	token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strlen(token) > 300 || strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		token_invalid();

	/* The signature is after the last dot; check it before parsing anything else. */
	dot = strrchr(token, '.');
	if (dot == NULL || strlen(dot + 1) != PG_SHA256_DIGEST_LENGTH * 2)
		token_invalid();
	token_mac(token, dot - token, mac);
	if (CRYPTO_memcmp(mac, dot + 1, PG_SHA256_DIGEST_LENGTH * 2) != 0)
		token_invalid();
	*dot = '\0';

	job_s = token + strlen(TOKEN_PREFIX);
	org_s = strchr(job_s, '.');
	if (org_s == NULL)
		token_invalid();
	*org_s++ = '\0';
	exp_s = strchr(org_s, '.');
	if (exp_s == NULL)
		token_invalid();
	*exp_s++ = '\0';
	errno = 0;
	expires_s = strtoll(exp_s, &end, 10);
	if (errno != 0 || *end != '\0' || end == exp_s)
		token_invalid();

	expires = SetEpochTimestamp() + (TimestampTz) expires_s * USECS_PER_SEC;
	if (expires <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_WIB_EXPORT_TOKEN_EXPIRED),
				 errmsg("download token expired"),
				 errdetail("The token expired at %s.", timestamptz_to_str(expires)),
				 errhint("Ask for a new download link.")));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg_internal("return type must be a row type")));
	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(job_s));
	values[1] = DirectFunctionCall1(uuid_in, CStringGetDatum(org_s));
	values[2] = TimestampTzGetDatum(expires);

	/* Remember it: wib.export_read may now read this one job in this transaction. */
	opened_job = *DatumGetUUIDP(values[0]);
	opened_org = *DatumGetUUIDP(values[1]);
	opened_expires = expires;
	opened_lxid = MyProc->lxid;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * wib.export_token_org(job): the organization of job when a token for it was
 * opened in the current transaction and has not expired since; else NULL.
 */
PG_FUNCTION_INFO_V1(wib_export_token_org);
Datum
wib_export_token_org(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *job = PG_GETARG_UUID_P(0);
	pg_uuid_t  *org;

	if (opened_lxid == InvalidLocalTransactionId || opened_lxid != MyProc->lxid ||
		memcmp(job, &opened_job, sizeof(pg_uuid_t)) != 0 ||
		opened_expires <= GetCurrentTimestamp())
		PG_RETURN_NULL();
	org = palloc(sizeof(pg_uuid_t));
	*org = opened_org;
	PG_RETURN_UUID_P(org);
}
