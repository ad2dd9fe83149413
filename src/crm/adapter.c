/*
 * adapter.c
 *		The table of CRM adapters of the C side (see adapter.h).
 */
#include "postgres.h"

#include "crm/adapter.h"

static const CrmAdapter *const adapters[] = {
	&crm_hubspot_adapter,
	&crm_salesforce_adapter,
};

const CrmAdapter *
crm_adapter(const char *crm_type)
{
	for (int i = 0; i < lengthof(adapters); i++)
		if (strcmp(adapters[i]->crm_type, crm_type) == 0)
			return adapters[i];
	return NULL;
}
