/*
 * telnyx.h
 *		Telnyx's API v2 for inbound numbers: the deliverer's telnyx channel
 *		(orders and releases) and its settings.
 */
#ifndef WIB_IVR_TELNYX_H
#define WIB_IVR_TELNYX_H

#include "workers/channel.h"

extern int	telnyx_search_timeout_ms;
extern const DeliveryChannel telnyx_channel;

extern void telnyx_define_settings(void);

#endif							/* WIB_IVR_TELNYX_H */
