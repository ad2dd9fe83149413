/*
 * deliverer.h
 *		The webhook deliverer: claims due deliveries, sends them signed
 *		through the HTTP engine, records the outcome.
 */
#ifndef WIB_DELIVERER_H
#define WIB_DELIVERER_H

extern void deliverer_define_settings(void);

#endif							/* WIB_DELIVERER_H */
