/*
 * push_deliver.h
 *		The deliverer's Web Push channel (src/workers/channel.c).
 */
#ifndef WIB_PUSH_DELIVER_H
#define WIB_PUSH_DELIVER_H

#include "workers/channel.h"

extern const DeliveryChannel push_channel;

#endif							/* WIB_PUSH_DELIVER_H */
