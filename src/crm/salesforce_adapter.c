/*
 * salesforce_adapter.c
 *		Salesforce's entry of the CRM adapter table and its settings.
 *		Salesforce has no per-second rate limit wib paces against (its limit
 *		is a daily budget of API requests per Salesforce org, and requests of
 *		one integration go one at a time): no limiter; every answer's
 *		Sforce-Limit-Info ("api-usage=10018/100000") is handed to the SQL side,
 *		which keeps the sync within its share of the daily budget
 *		(src/sql/50_crm/64_salesforce.sql).
 */
#include "postgres.h"

#include "utils/guc.h"

#include "crm/adapter.h"
#include "crm/crm_settings.h"

/* Settings only the SQL side reads (through current_setting). */
static int	api_share_percent = 50;
static int	session_lifetime_s = 0;
static int	limit_pause_s = 3600;

const CrmAdapter crm_salesforce_adapter = {
	.crm_type = "salesforce",
	.limits = NULL,
	.remaining_header = NULL,
	.usage_header = "Sforce-Limit-Info",
};

/* Defines the wib.crm_salesforce_* settings; called from crm_define_settings. */
void
crm_salesforce_define_settings(void)
{
	DefineCustomIntVariable("wib.crm_salesforce_api_share",
							"Percentage of a Salesforce org's daily API request limit the contact sync of one integration may use in any 24 hours.",
							"Calls logged as Tasks are not held back by it; a 403 REQUEST_LIMIT_EXCEEDED pauses the whole integration.",
							&api_share_percent, 50, 1, 100, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_salesforce_session_lifetime",
							"How long a Salesforce access token is taken to live, to refresh it ahead of expiry (0: refresh only after a 401 INVALID_SESSION_ID).",
							"Salesforce's token answers carry no expires_in: a session lasts the org's session timeout.",
							&session_lifetime_s, 0, 0, 30 * 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_salesforce_limit_pause",
							"How long a Salesforce integration waits after 403 REQUEST_LIMIT_EXCEEDED before it sends requests again.",
							"The org's daily limit is counted over a rolling 24 hours: it frees up gradually.",
							&limit_pause_s, 3600, 1, 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}
