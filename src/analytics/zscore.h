/*
 * zscore.h
 *		Rolling z-scores of a series against the points before each one.
 */
#ifndef WIB_ANALYTICS_ZSCORE_H
#define WIB_ANALYTICS_ZSCORE_H

/* Fewest points a window needs before a z-score is given (sample stddev needs 2). */
#define ZSCORE_MIN_HISTORY_FLOOR	2
#define ZSCORE_MAX_WINDOW			10000
/* Columns of wib.zscore_series(): idx, value, mean, stddev, z, is_anomaly. */
#define ZSCORE_OUT_COLS				6
/* Largest magnitude accepted, so that squared deviations cannot overflow. */
#define ZSCORE_MAX_ABS_VALUE		1e150

/* One output point: the window statistics before it and its z-score. */
typedef struct ZScorePoint
{
	int			n;				/* points in the window (missing ones excluded) */
	double		mean;			/* valid when n >= 1 */
	double		stddev;			/* sample stddev, valid when n >= 2 */
	double		z;				/* valid when has_z */
	bool		has_z;
} ZScorePoint;

extern void zscore_compute(const double *x, const bool *missing, int count,
						   int window, int min_history, ZScorePoint *out);

#endif							/* WIB_ANALYTICS_ZSCORE_H */
