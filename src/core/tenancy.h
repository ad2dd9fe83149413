/*
 * tenancy.h
 *		The tenant context: wib.org_id and wib.user_id.
 */
#ifndef WIB_TENANCY_H
#define WIB_TENANCY_H

#include "utils/uuid.h"

extern void tenancy_define_settings(void);
extern bool tenancy_parse_uuid(const char *text, pg_uuid_t *out);
extern pg_uuid_t *tenancy_require_org(void);

#endif							/* WIB_TENANCY_H */
