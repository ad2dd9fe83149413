/*
 * scheduler.h
 *		The scheduler worker: runs the periodic jobs of wib.scheduled_jobs.
 */
#ifndef WIB_SCHEDULER_H
#define WIB_SCHEDULER_H

#include "postgres.h"

extern void scheduler_define_settings(void);
extern int64 scheduler_pass(bool *more);

#endif							/* WIB_SCHEDULER_H */
