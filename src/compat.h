/*
 * compat.h
 *		The PostgreSQL versions wib builds against, and the shims between them.
 *
 * wib is written for PostgreSQL 15.  Every PG_VERSION_NUM test lives here,
 * not scattered through the sources.
 */
#ifndef WIB_COMPAT_H
#define WIB_COMPAT_H

#include "pg_config.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "wib builds against PostgreSQL 15"
#endif

#endif							/* WIB_COMPAT_H */
