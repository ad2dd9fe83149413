/*
 * adapter.h
 *		What the C side of CRM sync knows of each CRM: its rate limits (wib's,
 *		below the CRM's own), the answer header saying its budget is spent,
 *		and the answer header reporting its API usage to the SQL side.
 *		Everything else of an adapter (requests, answers, cursors) is its SQL,
 *		the files src/sql/50_crm/NN_<crm>_<job>.sql.  Adding a CRM is one entry in adapter.c.
 */
#ifndef WIB_CRM_ADAPTER_H
#define WIB_CRM_ADAPTER_H

#include "crm/limiter.h"

typedef struct CrmAdapter
{
	const char *crm_type;

	/* The limits now in force (settings may change at reload); NULL: no rate limiter. */
	void		(*limits) (CrmLimits *out);

	/* An answer header whose value 0 means the account's budget is spent for a moment (or NULL). */
	const char *remaining_header;

	/* An answer header handed to the SQL side as ctx.limit_info (the account's API usage), or NULL. */
	const char *usage_header;
} CrmAdapter;

/* The adapter of crm_type, or NULL. */
extern const CrmAdapter *crm_adapter(const char *crm_type);

extern const CrmAdapter crm_hubspot_adapter;
extern const CrmAdapter crm_salesforce_adapter;

#endif							/* WIB_CRM_ADAPTER_H */
