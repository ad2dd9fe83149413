/*
 * crm_settings.h
 *		Settings of CRM sync (wib.crm_*), read by the C side of the worker and,
 *		through current_setting, by its SQL.
 */
#ifndef WIB_CRM_SETTINGS_H
#define WIB_CRM_SETTINGS_H

extern int	crm_lease_seconds;
extern int	crm_slice_seconds;
extern int	crm_backoff_base_ms;
extern int	crm_backoff_max_ms;
extern int	crm_max_retries;
extern int	crm_rate_margin_ms;
extern int	crm_hubspot_requests_per_10s;
extern int	crm_hubspot_searches_per_second;

extern void crm_define_settings(void);
extern void crm_salesforce_define_settings(void);

#endif							/* WIB_CRM_SETTINGS_H */
