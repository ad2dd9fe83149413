/*
 * wib.c
 *		Module entry point: settings, shared memory, the launcher and its hook.
 */
#include "postgres.h"

#include "compat.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "analytics/analytics_settings.h"
#include "core/rate_limit.h"
#include "core/settings.h"
#include "core/shmem.h"
#include "core/tenancy.h"
#include "crypto/keys.h"
#include "export/files.h"
#include "http/http_settings.h"
#include "ivr/ivr_settings.h"
#include "push/push_settings.h"
#include "webhooks/deliver.h"
#include "workers/dbhooks.h"
#include "workers/launcher.h"
#include "workers/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Reloadable settings are defined whenever the library loads, so SET
 * wib.org_id works even without preloading.  Settings fixed at server start,
 * shared memory and workers exist only when preloading (PostgreSQL refuses
 * postmaster settings later); the functions needing them say so
 * (shmem_require).
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	tenancy_define_settings();
	keys_define_settings();
	settings_define_sql_only();
	worker_define_settings();
	http_define_settings();
	webhook_define_settings();
	push_define_settings();
	ivr_define_settings();
	analytics_define_settings();
	exports_define_settings();
	rate_limit_define_reloadable_settings();
	if (process_shared_preload_libraries_in_progress)
	{
		rate_limit_define_settings();
		worker_define_startup_settings();
	}
	MarkGUCPrefixReserved("wib");

	if (!process_shared_preload_libraries_in_progress)
		return;

	shmem_install_hooks();
	dbhooks_install();
	launcher_register();
}
