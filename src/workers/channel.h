/*
 * channel.h
 *		Delivery channels: the kinds of outbound request the deliverer sends
 *		(webhooks, Web Push; CRM calls as they come), one entry each.
 *
 * A pass asks every channel to claim its due items (leased, in one
 * transaction), sends all their requests through one run of the HTTP engine
 * with no transaction open, so they share its concurrency window, then asks
 * each channel to record its results (one more transaction).  A crash
 * between the two loses nothing: the lease expires, or the next deliverer
 * releases it on start, and the items are sent again (at least once).
 */
#ifndef WIB_CHANNEL_H
#define WIB_CHANNEL_H

#include "http/engine.h"

typedef struct DeliveryChannel
{
	const char *name;

	/* Most items one pass of this channel claims (the channel's setting). */
	int			(*batch_size) (void);

	/*
	 * Claims up to max_items due items in the current transaction (SPI is
	 * connected), leasing them for lease_seconds.  Fills requests[0..n) and
	 * returns n; what record() needs goes in *items.  Everything that must
	 * outlive the transaction is allocated in mcxt.
	 */
	int			(*claim) (int max_items, int lease_seconds, MemoryContext mcxt,
						  void **items, HttpRequest *requests);

	/* Records the outcome of the n requests claim() filled, in the current transaction. */
	void		(*record) (void *items, HttpRequest *requests, int n);

	/* Makes the items a dead deliverer had leased due at once, in the current transaction. */
	void		(*release) (void);
} DeliveryChannel;

/*
 * One pass over every channel: each claims up to max_items (0: its own batch
 * size).  With own_xact (the worker) claims and results are committed in
 * transactions of their own; without (wib.deliver_due) everything runs in the
 * caller's.  Returns the requests sent; *more is set when a channel claimed a
 * full batch (work is still due).
 */
extern int	delivery_pass(bool own_xact, int max_items, bool *more);

/* A response body as text of the database encoding, cut at the first invalid byte (for a channel's record). */
extern Datum channel_response_text(const HttpRequest *req);

/* Makes every channel's items leased by a dead deliverer due again (own transaction). */
extern void delivery_release_leases(void);

#endif							/* WIB_CHANNEL_H */
