/*
 * routed_read.h
 *		The IVR's hot-path reads on a Citus cluster, as statements Citus routes.
 */
#ifndef WIB_IVR_ROUTED_READ_H
#define WIB_IVR_ROUTED_READ_H

#include "utils/uuid.h"

#include "ivr/menu_read.h"

/* As index_read_route: keys[0] the dialled number (text). */
extern bool routed_read_route(const Datum *keys, Datum *values, bool *nulls);

/* As index_read_number: keys[0] the organization, keys[1] the number's id. */
extern bool routed_read_number(const Datum *keys, Datum *values, bool *nulls);

/* As menu_read: the menu and its options, in the order read (menu_read sorts them). */
extern bool routed_read_menu(const pg_uuid_t *org, const pg_uuid_t *menu, MenuData *out);

#endif							/* WIB_IVR_ROUTED_READ_H */
