/*
 * sync.h
 *		The CRM worker's pass, and the worker itself.
 */
#ifndef WIB_CRM_SYNC_H
#define WIB_CRM_SYNC_H

/*
 * One pass of the CRM worker: a slice of work on the most overdue
 * integration (its own transactions); returns the requests sent, *more when
 * it found work (look again at once).
 */
extern int64 crm_sync_pass(bool *more);

/* Entry point of the crm_sync background worker. */
extern PGDLLEXPORT void wib_crm_sync_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* WIB_CRM_SYNC_H */
