/*
 * push_settings.h
 *		Settings of mobile devices and Web Push: delivery, the push services
 *		subscriptions may name, VAPID tokens and QR sign-in.
 */
#ifndef WIB_PUSH_SETTINGS_H
#define WIB_PUSH_SETTINGS_H

#include <stdbool.h>

extern int	push_batch_size;
extern char *push_allowed_hosts;
extern int	push_ttl_seconds;
extern int	push_pad_block;
extern int	push_jwt_lifetime;

extern void push_define_settings(void);

/* True when host (bare, any case) matches wib.push_allowed_hosts: exactly, or below a "*." entry. */
extern bool push_host_allowed(const char *host);

#endif							/* WIB_PUSH_SETTINGS_H */
