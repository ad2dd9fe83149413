/*
 * deliver.h
 *		Webhook delivery passes: claim due deliveries, sign and send them
 *		through the HTTP engine, record the outcome.
 */
#ifndef WIB_WEBHOOK_DELIVER_H
#define WIB_WEBHOOK_DELIVER_H

extern int	webhook_batch_size;

extern void webhook_define_settings(void);

/*
 * One pass over at most max_items due deliveries.  With own_xact (the
 * worker) it claims and records in transactions of its own and sends with
 * none open; without, it runs inside the caller's transaction.  Returns the
 * number of deliveries attempted.
 */
extern int	webhook_deliver_batch(bool own_xact, int max_items);

/* Makes the deliveries a dead deliverer had leased due at once (own transaction). */
extern void webhook_release_leases(void);

#endif							/* WIB_WEBHOOK_DELIVER_H */
