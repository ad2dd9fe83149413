/*
 * sync.h
 *		The pass of the crm_sync worker (an entry of src/workers/registry.c).
 */
#ifndef WIB_CRM_SYNC_H
#define WIB_CRM_SYNC_H

#include "postgres.h"

/*
 * One pass of the CRM worker: a slice of work on the most overdue
 * integration (its own transactions); returns the requests sent, *more when
 * it found work (look again at once).
 */
extern int64 crm_sync_pass(bool *more);

#endif							/* WIB_CRM_SYNC_H */
