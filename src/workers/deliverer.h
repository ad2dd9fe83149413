/*
 * deliverer.h
 *		The deliverer worker: sends due webhook deliveries.
 */
#ifndef WIB_DELIVERER_H
#define WIB_DELIVERER_H

#include "postgres.h"

PGDLLEXPORT void wib_deliverer_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* WIB_DELIVERER_H */
