/*
 * shmem.c
 *		Requests and initialises the shared memory of every wib subsystem.
 *
 * Shared memory exists only when wib is in shared_preload_libraries; features
 * that need it call shmem_require(), which explains how to fix the setup.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "core/errors.h"
#include "core/rate_limit.h"
#include "core/shmem.h"
#include "crm/limiter.h"
#include "ivr/menu_cache.h"
#include "ivr/spike.h"
#include "workers/slots.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool shmem_ready = false;

/* Asks the postmaster for the space and locks every subsystem needs. */
static void
wib_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	rate_limit_shmem_request();
	menu_cache_shmem_request();
	ivr_spike_shmem_request();
	slots_shmem_request();
	crm_limiter_shmem_request();
}

/* Attaches (or, in the postmaster, creates) every subsystem's shared state. */
static void
wib_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	rate_limit_shmem_startup();
	menu_cache_shmem_startup();
	ivr_spike_shmem_startup();
	slots_shmem_startup();
	crm_limiter_shmem_startup();
	shmem_ready = true;
}

/* Installs the hooks; called from _PG_init while preloading. */
void
shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = wib_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = wib_shmem_startup;
}

/* True once this process is attached to wib's shared memory. */
bool
shmem_is_ready(void)
{
	return shmem_ready;
}

/* Raises a clear error when a feature needing shared memory runs without preload. */
void
shmem_require(const char *what)
{
	if (!shmem_ready)
		ereport(ERROR,
				(errcode(ERRCODE_WIB_NOT_PRELOADED),
				 errmsg("%s requires wib to be loaded at server start", what),
				 errhint("Add 'wib' to shared_preload_libraries in postgresql.conf and restart the server.")));
}
