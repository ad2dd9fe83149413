/*
 * url_guard_sql.c
 *		wib.url_check(): the SSRF guard of url_guard.c under the current
 *		settings, for tenants' URLs before they are stored.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "http/http_settings.h"
#include "http/url_guard.h"

PG_FUNCTION_INFO_V1(wib_url_check);

/* wib.url_check(url): NULL when tenants may use the URL, else why not. */
Datum
wib_url_check(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	UrlTarget	target;
	char		reason[URL_GUARD_REASON_LEN];

	if (url_guard_check(http_guard_policy(), url, &target, reason))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}
