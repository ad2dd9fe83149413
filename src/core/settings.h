/*
 * settings.h
 *		Settings that only the extension's SQL reads.
 */
#ifndef WIB_SETTINGS_H
#define WIB_SETTINGS_H

extern void settings_define_sql_only(void);

#endif							/* WIB_SETTINGS_H */
