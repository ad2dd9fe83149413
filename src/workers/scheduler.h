/*
 * scheduler.h
 *		The scheduler worker: runs the periodic jobs of wib.scheduled_jobs.
 */
#ifndef WIB_SCHEDULER_H
#define WIB_SCHEDULER_H

extern void scheduler_define_settings(void);

#endif							/* WIB_SCHEDULER_H */
