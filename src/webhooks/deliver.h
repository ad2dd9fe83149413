/*
 * deliver.h
 *		Webhook deliveries: the deliverer's webhook channel and its settings.
 */
#ifndef WIB_WEBHOOK_DELIVER_H
#define WIB_WEBHOOK_DELIVER_H

#include "workers/channel.h"

/* The shortest lease of a claimed item (wib.webhook_lease), for every channel's pass. */
extern int	webhook_lease_seconds;

extern const DeliveryChannel webhook_channel;

extern void webhook_define_settings(void);

#endif							/* WIB_WEBHOOK_DELIVER_H */
