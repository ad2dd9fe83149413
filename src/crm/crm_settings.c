/*
 * crm_settings.c
 *		Settings of CRM sync: the schedule, the cursor's re-read window, token
 *		refresh, leases, call pushes, backoff and the rate limits kept below
 *		each CRM's own.  Timings tests shorten are settings, never constants.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "crm/crm_settings.h"

int			crm_lease_seconds = 120;
int			crm_slice_seconds = 30;
int			crm_backoff_base_ms = 500;
int			crm_backoff_max_ms = 60000;
int			crm_max_retries = 8;
int			crm_rate_margin_ms = 250;
int			crm_hubspot_requests_per_10s = 104;
int			crm_hubspot_searches_per_second = 4;

/* Settings only the SQL side reads (through current_setting). */
static int	sync_interval_s = 900;
static int	reread_window_s = 120;
static int	archived_scan_interval_s = 3600;
static int	token_refresh_margin_s = 300;
static int	page_size = 100;
static int	push_delay_ms = 60000;
static int	push_reconcile_delay_s = 60;
static int	push_max_attempts = 5;
static int	webhook_retention_s = 7 * 86400;

/* Defines the wib.crm_* settings; called from _PG_init. */
void
crm_define_settings(void)
{
	DefineCustomIntVariable("wib.crm_sync_interval",
							"How often the CRM worker syncs each connected CRM.",
							"A sync is also started by wib.crm_sync_now, by a new connection and by CRM webhooks.",
							&sync_interval_s, 900, 1, 7 * 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_reread_window",
							"How far behind its last high-water mark a delta sync starts reading again.",
							"CRM search lags behind writes; contacts read twice are written once.",
							&reread_window_s, 120, 0, 3600, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_archived_scan_interval",
							"How often a delta sync lists archived (deleted) CRM contacts to remove them from the cache.",
							"Manual syncs always do; CRM webhooks report deletions at once.",
							&archived_scan_interval_s, 3600, 0, 30 * 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_token_refresh_margin",
							"How long before an access token expires the CRM worker refreshes it (at most a third of its lifetime).",
							NULL,
							&token_refresh_margin_s, 300, 0, 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_page_size",
							"Records asked for per CRM list or search page.",
							NULL,
							&page_size, 100, 1, 100, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_push_delay",
							"How long after a call completes it is logged in the CRM.",
							"Lets the recording and the summary that follow a call be pushed with it, and calls completing together go in one run.",
							&push_delay_ms, 60000, 0, 86400 * 1000, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_push_reconcile_delay",
							"How long the CRM worker waits before looking for a call whose creation it could not confirm.",
							"CRM search lags behind writes: looking too early could miss the call and log it twice.",
							&push_reconcile_delay_s, 60, 0, 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_push_max_attempts",
							"Attempts to log a call in the CRM before it is marked failed.",
							NULL,
							&push_max_attempts, 5, 1, 100, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_webhook_retention",
							"How long the ids of applied CRM webhook events are kept to apply a redelivered event once.",
							NULL,
							&webhook_retention_s, 7 * 86400, 3600, 365 * 86400, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_lease",
							"How long the CRM worker holds an integration between two steps before another holder may take it.",
							NULL,
							&crm_lease_seconds, 120, 10, 3600, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_slice",
							"How long the CRM worker works on one integration before giving others their turn.",
							NULL,
							&crm_slice_seconds, 30, 1, 3600, PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_backoff_base",
							"First wait after a CRM answered 429 without Retry-After (doubled at each refusal in a row).",
							NULL,
							&crm_backoff_base_ms, 500, 1, 600000, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_backoff_max",
							"Longest wait after a refusal or a failure of a CRM request (Retry-After included).",
							NULL,
							&crm_backoff_max_ms, 60000, 1, 3600000, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_max_retries",
							"Times one CRM request is sent again after a 429, a 5xx or no answer before the run stops for now.",
							"Requests that may have taken effect (creating a call) are never sent again blindly.",
							&crm_max_retries, 8, 0, 100, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_rate_margin",
							"How much longer than the CRM's own window wib's rate-limit window is.",
							"The CRM counts requests on arrival and the network delays some more than others: pacing at exactly its limit would be refused.",
							&crm_rate_margin_ms, 250, 0, 10000, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_hubspot_requests_per_10s",
							"Most HubSpot API requests wib sends per portal in any 10 seconds, across all sessions (HubSpot allows 110).",
							NULL,
							&crm_hubspot_requests_per_10s, 104, 1, 128, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("wib.crm_hubspot_searches_per_second",
							"Most HubSpot search requests wib sends per portal in any second, across all sessions (HubSpot allows 5).",
							NULL,
							&crm_hubspot_searches_per_second, 4, 1, 128, PGC_SUSET, 0, NULL, NULL, NULL);
	crm_salesforce_define_settings();
}
