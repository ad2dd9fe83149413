/*
 * index_read.h
 *		Single-row reads of the IVR tables through their unique indexes.
 */
#ifndef WIB_IVR_INDEX_READ_H
#define WIB_IVR_INDEX_READ_H

#include "utils/uuid.h"

/* wib.inbound_number_routes of phone: values[0] organization_id, values[1] number_id. */
extern bool index_read_route(const char *phone, Datum *values, bool *nulls);

/* wib.inbound_numbers (org, id): values[0] status, values[1] menu_id. */
extern bool index_read_number(const pg_uuid_t *org, const pg_uuid_t *id, Datum *values, bool *nulls);

#endif							/* WIB_IVR_INDEX_READ_H */
