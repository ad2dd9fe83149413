/*
 * launcher.h
 *		The launcher: one static bgworker, connected to no database, that
 *		starts and stops the per-database workers.
 */
#ifndef WIB_WORKER_LAUNCHER_H
#define WIB_WORKER_LAUNCHER_H

#include "postgres.h"

extern int	launcher_poll_interval_ms;

extern void launcher_define_settings(void);
extern void launcher_define_startup_settings(void);
extern void launcher_register(void);

PGDLLEXPORT void wib_launcher_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* WIB_WORKER_LAUNCHER_H */
