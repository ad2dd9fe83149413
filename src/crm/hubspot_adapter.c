/*
 * hubspot_adapter.c
 *		HubSpot's entry of the CRM adapter table: 110 API requests per rolling
 *		10 s and 5 searches per rolling second per portal (public OAuth apps),
 *		of which wib takes wib.crm_hubspot_requests_per_10s and
 *		wib.crm_hubspot_searches_per_second, over windows wib.crm_rate_margin
 *		longer, because HubSpot counts on arrival.
 */
#include "postgres.h"

#include "datatype/timestamp.h"

#include "crm/adapter.h"
#include "crm/crm_settings.h"

static void
hubspot_limits(CrmLimits *out)
{
	out->requests = crm_hubspot_requests_per_10s;
	out->window_us = 10 * USECS_PER_SEC + (int64) crm_rate_margin_ms * 1000;
	out->searches = crm_hubspot_searches_per_second;
	out->search_window_us = USECS_PER_SEC + (int64) crm_rate_margin_ms * 1000;
}

const CrmAdapter crm_hubspot_adapter = {
	.crm_type = "hubspot",
	.limits = hubspot_limits,
	.remaining_header = "X-HubSpot-RateLimit-Remaining",
};
