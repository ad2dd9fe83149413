/*
 * storage_channel.h
 *		The deliverer's channel for object storage housekeeping: deletes of
 *		expired export objects and aborts of unfinished uploads.
 */
#ifndef WIB_STORAGE_CHANNEL_H
#define WIB_STORAGE_CHANNEL_H

#include "workers/channel.h"

extern const DeliveryChannel storage_channel;

extern void storage_channel_define_settings(void);

#endif							/* WIB_STORAGE_CHANNEL_H */
