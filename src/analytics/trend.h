/*
 * trend.h
 *		Least-squares line through a series (x = 1-based position).
 */
#ifndef WIB_ANALYTICS_TREND_H
#define WIB_ANALYTICS_TREND_H

typedef struct TrendFit
{
	int			n;				/* points used (missing ones excluded) */
	bool		has_line;		/* false when fewer than 2 distinct x */
	double		slope;
	double		intercept;
	double		r2;
} TrendFit;

extern void trend_fit(const double *y, const bool *missing, int count, TrendFit *fit);

#endif							/* WIB_ANALYTICS_TREND_H */
