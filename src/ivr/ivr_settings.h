/*
 * ivr_settings.h
 *		Settings of the inbound IVR: Telnyx key, callback URL, toll-fraud limit.
 */
#ifndef WIB_IVR_SETTINGS_H
#define WIB_IVR_SETTINGS_H

extern char *ivr_telnyx_public_key;
extern int	ivr_telnyx_tolerance;
extern char *ivr_callback_url;
extern int	ivr_calls_per_minute;

extern void ivr_define_settings(void);
extern const uint8_t *ivr_telnyx_key(void);
extern char *ivr_callback(const char *kind);

#endif							/* WIB_IVR_SETTINGS_H */
