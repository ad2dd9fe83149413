/*
 * analytics_settings.h
 *		Settings of the analytics feature (read by its SQL through current_setting).
 */
#ifndef WIB_ANALYTICS_SETTINGS_H
#define WIB_ANALYTICS_SETTINGS_H

extern void analytics_define_settings(void);

#endif							/* WIB_ANALYTICS_SETTINGS_H */
