/*
 * trend.c
 *		wib.linear_trend(): the least-squares line through a series, with x the
 *		1-based position of each point, as regr_slope / regr_intercept /
 *		regr_r2 would give for (value, position) pairs.
 *
 * Two passes (means first, then centred sums) keep the result exact to the
 * last digits even for values with a large common offset.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"

#include "analytics/series.h"
#include "analytics/trend.h"

/* Fits y = slope * x + intercept over the points of y that are not missing. */
void
trend_fit(const double *y, const bool *missing, int count, TrendFit *fit)
{
	double		mx = 0.0;
	double		my = 0.0;
	double		sxx = 0.0;
	double		sxy = 0.0;
	double		syy = 0.0;
	int			n = 0;

	memset(fit, 0, sizeof(*fit));
	for (int i = 0; i < count; i++)
	{
		if (missing[i])
			continue;
		n++;
		mx += (i + 1);
		my += y[i];
	}
	fit->n = n;
	if (n == 0)
		return;
	mx /= n;
	my /= n;
	for (int i = 0; i < count; i++)
	{
		double		dx;
		double		dy;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (missing[i])
			continue;
		dx = (i + 1) - mx;
		dy = y[i] - my;
		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (sxx <= 0.0)
		return;
	fit->has_line = true;
	fit->slope = sxy / sxx;
	fit->intercept = my - fit->slope * mx;
	/* As regr_r2: a flat series is fitted perfectly. */
	fit->r2 = (syy <= 0.0) ? 1.0 : (sxy * sxy) / (sxx * syy);
}

PG_FUNCTION_INFO_V1(wib_linear_trend);

/*
 * wib.linear_trend(vals) RETURNS TABLE (slope, intercept, r2, n): one row;
 * slope, intercept and r2 are NULL with fewer than two points.
 */
Datum
wib_linear_trend(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	TrendFit	fit;
	double	   *y = NULL;
	bool	   *missing = NULL;
	int			count = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);

	if (!PG_ARGISNULL(0))
		count = series_read(PG_GETARG_ARRAYTYPE_P(0), "vals", &y, &missing);
	trend_fit(y, missing, count, &fit);

	values[0] = Float8GetDatum(fit.slope);
	values[1] = Float8GetDatum(fit.intercept);
	values[2] = Float8GetDatum(fit.r2);
	values[3] = Int32GetDatum(fit.n);
	nulls[0] = nulls[1] = nulls[2] = !fit.has_line;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
