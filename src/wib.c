/*
 * wib.c
 *		Module entry point: settings, shared memory and background workers.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "core/rate_limit.h"
#include "core/settings.h"
#include "core/shmem.h"
#include "core/tenancy.h"
#include "http/http_settings.h"
#include "webhooks/deliverer.h"
#include "workers/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Settings are defined whenever the library loads, so SET wib.org_id works
 * even without preloading; shared memory and workers need preloading, and
 * the functions using them say so (shmem_require).
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	tenancy_define_settings();
	rate_limit_define_settings();
	settings_define_sql_only();
	worker_define_settings();
	http_define_settings();
	deliverer_define_settings();
	MarkGUCPrefixReserved("wib");

	if (!process_shared_preload_libraries_in_progress)
		return;

	shmem_install_hooks();
	workers_register();
}
