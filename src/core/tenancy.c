/*
 * tenancy.c
 *		The tenant context every row-level security policy reads.
 *
 * wib.org_id is a real setting with a check hook, so a malformed id is refused
 * at SET time instead of silently matching nothing.  The parsed value is kept
 * in a static, which makes wib.current_org_id() (called once per row by the
 * policies) a copy rather than a parse.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "core/errors.h"
#include "crypto/codec.h"
#include "core/tenancy.h"

#define USER_ID_MAX_LEN 255

static char *org_id_setting = NULL;
static char *user_id_setting = NULL;

static pg_uuid_t current_org;
static bool current_org_set = false;

/*
 * Parses the canonical 8-4-4-4-12 spelling of a UUID, either case.  Returns
 * false instead of raising, so GUC check hooks can use it.
 */
bool
tenancy_parse_uuid(const char *text, pg_uuid_t *out)
{
	int			i = 0;

	if (strlen(text) != 36)
		return false;
	for (int pos = 0; pos < 36;)
	{
		int			hi,
					lo;

		if (pos == 8 || pos == 13 || pos == 18 || pos == 23)
		{
			if (text[pos] != '-')
				return false;
			pos++;
			continue;
		}
		hi = codec_hex_digit(text[pos]);
		lo = codec_hex_digit(text[pos + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out->data[i++] = (unsigned char) (hi << 4 | lo);
		pos += 2;
	}
	return true;
}

/* Accepts the empty string (no tenant) or a UUID, stored in lower case. */
static bool
check_org_id(char **newval, void **extra, GucSource source)
{
	pg_uuid_t	parsed;
	pg_uuid_t  *keep;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!tenancy_parse_uuid(*newval, &parsed))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("wib.org_id must be a UUID such as 6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10, or empty.");
		return false;
	}
	for (char *p = *newval; *p; p++)
		*p = (char) pg_ascii_tolower((unsigned char) *p);
	keep = malloc(sizeof(pg_uuid_t));	/* GUC extras are freed with free() */
	if (keep == NULL)
		return false;
	*keep = parsed;
	*extra = keep;
	return true;
}

static void
assign_org_id(const char *newval, void *extra)
{
	current_org_set = (extra != NULL);
	if (extra != NULL)
		current_org = *(pg_uuid_t *) extra;
}

/* Accepts any printable user id up to 255 bytes; empty means no user. */
static bool
check_user_id(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL)
		return true;
	if (strlen(*newval) > USER_ID_MAX_LEN)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("wib.user_id must be at most %d bytes.", USER_ID_MAX_LEN);
		return false;
	}
	for (const unsigned char *p = (const unsigned char *) *newval; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("wib.user_id must not contain control characters.");
			return false;
		}
	}
	return true;
}

/* Defines wib.org_id and wib.user_id; called from _PG_init. */
void
tenancy_define_settings(void)
{
	DefineCustomStringVariable("wib.org_id",
							   "Organization (tenant) the current session or transaction acts for.",
							   "A UUID; empty means no tenant, in which case tenant tables show and accept no rows.",
							   &org_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   check_org_id, assign_org_id, NULL);
	DefineCustomStringVariable("wib.user_id",
							   "User the current session or transaction acts for, recorded in the audit log.",
							   NULL,
							   &user_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   check_user_id, NULL, NULL);
}

PG_FUNCTION_INFO_V1(wib_current_org_id);

/* wib.current_org_id(): the tenant in context, or NULL. */
Datum
wib_current_org_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *result;

	if (!current_org_set)
		PG_RETURN_NULL();
	result = palloc(sizeof(pg_uuid_t));
	*result = current_org;
	PG_RETURN_UUID_P(result);
}

/* The tenant in context (a palloc'd copy), or an error saying how to set one. */
pg_uuid_t *
tenancy_require_org(void)
{
	pg_uuid_t  *result;

	if (!current_org_set)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_NO_TENANT_CONTEXT),
				 errmsg("no organization in context"),
				 errhint("Call wib.set_context(org_id, user_id) or SET wib.org_id first.")));
	result = palloc(sizeof(pg_uuid_t));
	*result = current_org;
	return result;
}

PG_FUNCTION_INFO_V1(wib_require_org);

/* wib.require_org(): the tenant in context, or an error saying how to set one. */
Datum
wib_require_org(PG_FUNCTION_ARGS)
{
	PG_RETURN_UUID_P(tenancy_require_org());
}

PG_FUNCTION_INFO_V1(wib_current_user_id);

/* wib.current_user_id(): the platform user in context, or NULL. */
Datum
wib_current_user_id(PG_FUNCTION_ARGS)
{
	if (user_id_setting == NULL || user_id_setting[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(user_id_setting));
}
