/*
 * dbhooks.h
 *		The ProcessUtility hook that stops a database's wib workers before DDL
 *		that needs the database without connections.
 */
#ifndef WIB_WORKER_DBHOOKS_H
#define WIB_WORKER_DBHOOKS_H

extern void dbhooks_install(void);

#endif							/* WIB_WORKER_DBHOOKS_H */
