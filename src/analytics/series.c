/*
 * series.c
 *		Reading a float8[] argument as a series with missing points.
 *
 * NULL and NaN elements are missing points: the kernels leave them out of
 * every statistic.  Infinite or huge values are refused, so sums of squares
 * cannot overflow into meaningless results.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "analytics/series.h"
#include "analytics/zscore.h"

/*
 * Deconstructs arr into palloc'd values[] and missing[]; returns the count.
 * Raises 22023 naming field for a multi-dimensional array or a value that is
 * infinite or beyond ZSCORE_MAX_ABS_VALUE.
 */
int
series_read(ArrayType *arr, const char *field, double **values, bool **missing)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	double	   *x;
	bool	   *miss;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must be a one-dimensional array, not %d-dimensional.",
						   field, ARR_NDIM(arr))));

	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &elems, &nulls, &count);

	x = palloc(sizeof(double) * Max(count, 1));
	miss = palloc(sizeof(bool) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		double		v = nulls[i] ? 0.0 : DatumGetFloat8(elems[i]);

		miss[i] = nulls[i] || isnan(v);
		x[i] = miss[i] ? 0.0 : v;
		if (!miss[i] && !(fabs(v) <= ZSCORE_MAX_ABS_VALUE))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s", field),
					 errdetail("Element %d is %g; elements must be finite with a magnitude of at most %g (NULL and NaN mark missing points).",
							   i + 1, v, ZSCORE_MAX_ABS_VALUE)));
	}
	pfree(elems);
	pfree(nulls);
	*values = x;
	*missing = miss;
	return count;
}
