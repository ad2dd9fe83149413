/*
 * deliverer.c
 *		The deliverer worker: runs a pass over its channels (src/workers/
 *		channel.c) whenever a COMMIT that queued work wakes it, or its poll
 *		interval passes.
 *
 * On start it first makes due again whatever a dead predecessor had leased
 * (sent, perhaps, but never recorded), so a crash costs a resend, not a wait
 * for the lease to expire.  Each pass allocates in a context of its own,
 * emptied at the next pass, so memory stays flat however long it runs.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "workers/channel.h"
#include "workers/deliverer.h"

/* One pass of the worker; *more when a full batch was due (loop at once). */
int64
deliverer_pass(bool *more)
{
	static bool released = false;
	static MemoryContext pass_context = NULL;
	int			n;

	if (pass_context == NULL)
		pass_context = AllocSetContextCreate(TopMemoryContext, "wib deliverer pass",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(pass_context);
	MemoryContextSwitchTo(pass_context);

	if (!released)
	{
		delivery_release_leases();
		released = true;
	}
	n = delivery_pass(true, 0, more);
	return n;
}
