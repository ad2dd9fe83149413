/*
 * deadline.h
 *		A statement deadline that dashboard functions arm for themselves.
 */
#ifndef WIB_ANALYTICS_DEADLINE_H
#define WIB_ANALYTICS_DEADLINE_H

#define ANALYTICS_DEADLINE_MAX_MS	(3600 * 1000)

/* wib.analytics_timeout, the deadline of the dashboard and contact-model functions. */
extern int	analytics_timeout_ms;

#endif							/* WIB_ANALYTICS_DEADLINE_H */
