/*
 * probe.h
 *		Whether the wib extension is installed in the connected database, and
 *		the short-lived probe worker the launcher starts to find out.
 */
#ifndef WIB_WORKER_PROBE_H
#define WIB_WORKER_PROBE_H

#include "workers/slots.h"

/* What the launcher passes a probe in bgw_extra (bgw_main_arg is its probe slot). */
typedef struct ProbeExtra
{
	Oid			dboid;
	uint32		generation;
} ProbeExtra;

extern ExtensionState probe_extension_state(char *version);

PGDLLEXPORT void wib_probe_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* WIB_WORKER_PROBE_H */
