/*
 * phone_sql.c
 *		wib.phone_e164(number, default_country): the phone number reader of
 *		phone.c for SQL.  A number that cannot be read is NULL (contacts are
 *		matched on the result, and an unreadable number matches nothing); an
 *		unknown default country is the caller's mistake and raises 22023.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "core/phone.h"

PG_FUNCTION_INFO_V1(wib_phone_e164);
Datum
wib_phone_e164(PG_FUNCTION_ARGS)
{
	char	   *country;
	text	   *number;
	char		out[PHONE_E164_BUFSIZE];
	char		reason[PHONE_REASON_LEN];
	PhoneStatus st;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid default_country"),
				 errdetail("default_country must be an ISO 3166 alpha-2 country code such as US or GB, not NULL.")));
	country = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (phone_country(country) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid default_country"),
				 errdetail("default_country must be an ISO 3166 alpha-2 country code of wib's numbering table (such as US, GB, FR, DE, IN), not \"%s\".",
						   strlen(country) <= 8 ? country : "(a longer text)")));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	number = PG_GETARG_TEXT_PP(0);
	st = phone_to_e164(VARDATA_ANY(number), VARSIZE_ANY_EXHDR(number), country, out, reason);
	if (st != PHONE_OK)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
