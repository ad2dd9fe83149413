/*
 * deliverer.h
 *		The deliverer worker: sends due webhook deliveries.
 */
#ifndef WIB_DELIVERER_H
#define WIB_DELIVERER_H

#include "postgres.h"

extern int64 deliverer_pass(bool *more);

#endif							/* WIB_DELIVERER_H */
