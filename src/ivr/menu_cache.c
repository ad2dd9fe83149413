/*
 * menu_cache.c
 *		Rendered menus kept per backend: every inbound call to a number
 *		renders the same menu, so the document is built once per change.
 *
 * Correctness rests on one shared counter, the menu generation.  A trigger on
 * ivr_menus and ivr_menu_options marks the transaction, and the counter is
 * advanced only after that transaction's commit is visible to others
 * (XACT_EVENT_COMMIT runs after the commit is recorded and published).  A
 * reader notes the counter *before* it takes the fresh snapshot it renders
 * from, and stores the document under the noted value: if a change commits in
 * between, the counter has moved and the entry is never served.  No cache is
 * used inside a transaction that changed menus itself (it would see its own
 * uncommitted rows), nor under REPEATABLE READ or SERIALIZABLE (whose
 * snapshot may predate the noted counter), nor without shared memory.
 * Entries are keyed by role, organization, menu, attempt and disclosure, and
 * carry the callback URL they were built with.
 *
 * On a Citus cluster no cache is used: the menu tables are distributed, their
 * changes fire the trigger on the workers' shards and commit there, so no
 * counter of the coordinator would move (and a worker, which does not preload
 * wib, has no counter at all).  A server without a cache has nothing to
 * invalidate, so there the trigger marks nothing, and a transaction that
 * changed menus may be prepared (Citus commits the workers' part of a
 * transaction that wrote on several nodes with two-phase commit).
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "core/shmem.h"
#include "ivr/menu_cache.h"
#include "ivr/menu_read.h"

#define MENU_CACHE_MAX_ENTRIES 256

typedef struct MenuCacheShared
{
	pg_atomic_uint64 generation;
} MenuCacheShared;

typedef struct MenuCacheEntry
{
	MenuCacheKey key;
	uint64		generation;
	char	   *callback;
	text	   *doc;
} MenuCacheEntry;

static MenuCacheShared *shared = NULL;
static HTAB *cache = NULL;
static bool changed_in_xact = false;
static bool callback_registered = false;

PG_FUNCTION_INFO_V1(wib_ivr_menu_changed);

void
menu_cache_shmem_request(void)
{
	RequestAddinShmemSpace(sizeof(MenuCacheShared));
}

void
menu_cache_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("wib ivr menu cache", sizeof(MenuCacheShared), &found);
	if (!found)
		pg_atomic_init_u64(&shared->generation, 1);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * True when this server keeps rendered menus: it has the shared counter, and
 * the menus are not Citus tables.
 */
static bool
menu_cache_enabled(void)
{
	return shared != NULL && shmem_is_ready() && !menu_read_distributed();
}

/* Advances the generation once a transaction that changed menus has committed. */
static void
menu_cache_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (changed_in_xact && shared != NULL)
				pg_atomic_fetch_add_u64(&shared->generation, 1);
			changed_in_xact = false;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (changed_in_xact)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that changed IVR menus"),
						 errdetail("Rendered menus are invalidated when such a transaction commits, which a prepared transaction cannot signal.")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			changed_in_xact = false;
			break;
		default:
			break;
	}
}

/*
 * Statement trigger on ivr_menus and ivr_menu_options: the generation moves
 * when this transaction commits (on a server that keeps rendered menus).
 */
Datum
wib_ivr_menu_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg_internal("wib.ivr_menu_changed() must be called as a trigger")));
	if (!menu_cache_enabled())
		return PointerGetDatum(NULL);
	if (!callback_registered)
	{
		RegisterXactCallback(menu_cache_xact_callback, NULL);
		callback_registered = true;
	}
	changed_in_xact = true;
	return PointerGetDatum(NULL);
}

/*
 * True when the cache may be used now; *generation receives the counter to
 * store or compare under.  Call it before taking the snapshot to render from.
 */
bool
menu_cache_usable(uint64 *generation)
{
	if (changed_in_xact || IsolationUsesXactSnapshot() || !menu_cache_enabled())
		return false;
	*generation = pg_atomic_read_u64(&shared->generation);
	pg_memory_barrier();
	return true;
}

/* Creates the backend's table on first use, or empties it when full. */
static void
menu_cache_prepare(void)
{
	HASHCTL		ctl;

	if (cache != NULL && hash_get_num_entries(cache) < MENU_CACHE_MAX_ENTRIES)
		return;
	if (cache != NULL)
	{
		HASH_SEQ_STATUS status;
		MenuCacheEntry *e;

		hash_seq_init(&status, cache);
		while ((e = hash_seq_search(&status)) != NULL)
		{
			pfree(e->callback);
			pfree(e->doc);
		}
		hash_destroy(cache);
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(MenuCacheKey);
	ctl.entrysize = sizeof(MenuCacheEntry);
	ctl.hcxt = TopMemoryContext;
	cache = hash_create("wib ivr menu cache", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* The cached document for key, built under generation with this callback URL, or NULL. */
text *
menu_cache_get(const MenuCacheKey *key, uint64 generation, const char *callback)
{
	MenuCacheEntry *e;
	text	   *copy;

	if (cache == NULL)
		return NULL;
	e = hash_search(cache, key, HASH_FIND, NULL);
	if (e == NULL || e->generation != generation || strcmp(e->callback, callback) != 0)
		return NULL;
	copy = (text *) palloc(VARSIZE(e->doc));
	memcpy(copy, e->doc, VARSIZE(e->doc));
	return copy;
}

/* Stores a rendered document. */
void
menu_cache_put(const MenuCacheKey *key, uint64 generation, const char *callback, const char *doc, int len)
{
	MenuCacheEntry *e;
	bool		found;

	menu_cache_prepare();
	e = hash_search(cache, key, HASH_ENTER, &found);
	if (found)
	{
		pfree(e->callback);
		pfree(e->doc);
	}
	e->generation = generation;
	e->callback = MemoryContextStrdup(TopMemoryContext, callback);
	e->doc = (text *) MemoryContextAlloc(TopMemoryContext, VARHDRSZ + len);
	SET_VARSIZE(e->doc, VARHDRSZ + len);
	memcpy(VARDATA(e->doc), doc, len);
}
