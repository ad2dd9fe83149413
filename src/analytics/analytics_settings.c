/*
 * analytics_settings.c
 *		Settings of the analytics feature: when the nightly job runs, how the
 *		anomaly detector judges a day, and what the contact models need.  The
 *		SQL reads them with current_setting(); defining them here gives them a
 *		type and a range.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "analytics/analytics_settings.h"
#include "analytics/deadline.h"
#include "analytics/zscore.h"

static char *nightly_at = NULL;
static double anomaly_threshold = 3.0;
static double anomaly_min_change = 0.1;
static int	anomaly_window = 30;
static int	anomaly_min_history = 7;
static int	prediction_ttl_days = 90;
static int	snapshot_retention_days = 1095;
static int	ml_min_examples = 30;
static double ml_l2 = 1.0;
static int	ml_predict_rate_limit = 600;
int			analytics_timeout_ms = 10000;

/* Accepts HH:MM or HH:MM:SS (UTC, 24-hour clock), two digits each. */
static bool
analytics_check_nightly_at(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;
	size_t		len = s ? strlen(s) : 0;
	bool		ok = (len == 5 || len == 8);

	for (size_t i = 0; ok && i < len; i++)
	{
		if (i == 2 || i == 5)
			ok = (s[i] == ':');
		else
			ok = (s[i] >= '0' && s[i] <= '9');
	}
	if (ok)
	{
		int			h = (s[0] - '0') * 10 + (s[1] - '0');
		int			m = (s[3] - '0') * 10 + (s[4] - '0');
		int			sec = (len == 8) ? (s[6] - '0') * 10 + (s[7] - '0') : 0;

		ok = (h <= 23 && m <= 59 && sec <= 59);
	}
	if (!ok)
		GUC_check_errdetail("wib.nightly_at must be a UTC time of day as HH:MM or HH:MM:SS, such as 02:30.");
	return ok;
}

/* Defines the analytics settings; called once from _PG_init. */
void
analytics_define_settings(void)
{
	DefineCustomStringVariable("wib.nightly_at",
							   "Time of day (UTC, HH:MM) at which the scheduler runs wib.run_nightly().",
							   "Applied to the analytics_nightly job at its next run, or at once by wib.analytics_reschedule().",
							   &nightly_at,
							   "02:00",
							   PGC_SIGHUP,
							   0,
							   analytics_check_nightly_at, NULL, NULL);
	DefineCustomRealVariable("wib.anomaly_threshold",
							 "Absolute z-score from which the nightly job reports a day as an anomaly.",
							 NULL,
							 &anomaly_threshold,
							 3.0, 0.5, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("wib.anomaly_min_change",
							 "Smallest change from the baseline that the nightly job reports as an anomaly.",
							 "Relative to the baseline mean for call volume and duration (0.1 = 10%), absolute for average sentiment and positive share.",
							 &anomaly_min_change,
							 0.1, 0.0, 10.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("wib.anomaly_window",
							"Days of baseline before each day that the anomaly detector compares it with.",
							NULL,
							&anomaly_window,
							30, 7, 365,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.anomaly_min_history",
							"Fewest baseline days a day needs before it can be reported as an anomaly.",
							"Must not exceed wib.anomaly_window; the nightly job uses the smaller of the two.",
							&anomaly_min_history,
							7, ZSCORE_MIN_HISTORY_FLOOR, 365,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.prediction_ttl",
							"Days after the day it is about that a prediction expires and is purged.",
							NULL,
							&prediction_ttl_days,
							90, 1, 3650,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.snapshot_retention",
							"Days analytics snapshots are kept before wib.purge_expired() removes them.",
							NULL,
							&snapshot_retention_days,
							1095, 30, 36500,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.ml_min_examples",
							"Fewest training examples of each class a contact model needs.",
							"The holdout needs a third as many of each class (at least 5); with fewer, no model is trained and wib.ml_status() says why.",
							&ml_min_examples,
							30, 5, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("wib.ml_l2",
							 "L2 penalty of the contact models, on standardized features.",
							 "The fit minimizes the summed log-loss plus ml_l2 / 2 times the squared coefficients (scikit-learn's C = 1 / ml_l2).",
							 &ml_l2,
							 1.0, 0.0001, 1000000.0,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("wib.analytics_timeout",
							"Deadline of each dashboard and contact-model function call.",
							"A call still running after it is cancelled (57014). Only superusers may change it, so an application cannot lift its own limit.",
							&analytics_timeout_ms,
							10000, 100, ANALYTICS_DEADLINE_MAX_MS,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("wib.ml_predict_rate_limit",
							"Predictions an organization may request per minute with wib.ml_predict().",
							NULL,
							&ml_predict_rate_limit,
							600, 1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}
