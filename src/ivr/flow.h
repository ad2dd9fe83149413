/*
 * flow.h
 *		The TeXML documents of the inbound call flow (menus and actions).
 */
#ifndef WIB_IVR_FLOW_H
#define WIB_IVR_FLOW_H

#include "utils/uuid.h"

/* A menu of org as a TeXML document (P0002 when org has no such menu). */
extern text *flow_menu_document(const pg_uuid_t *org, const pg_uuid_t *menu_id, int attempt, bool disclosure);

/* A one-verb document: <Reject reason="..."/> (reason busy or rejected). */
extern text *flow_reject_document(const char *reason);

#endif							/* WIB_IVR_FLOW_H */
