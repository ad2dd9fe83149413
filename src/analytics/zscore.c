/*
 * zscore.c
 *		wib.zscore_series(): the z-score of each point of a series against the
 *		window_size points before it, in one O(n) pass.
 *
 * The definition is the SQL window
 *		(v - avg(v) OVER w) / stddev_samp(v) OVER w
 *		w AS (ORDER BY i ROWS BETWEEN window_size PRECEDING AND 1 PRECEDING)
 * with missing points (NULL, NaN) left out of the window, and a NULL z where
 * the window holds fewer than min_history points or has zero spread.
 *
 * The rolling state keeps the count, the sum and the sum of squares of the
 * deviations from a shift K that is always a value of the current window.
 * Such a shift bounds the cancellation in (S2 - S1^2/n) by the window length,
 * so large offsets (1e9 plus small noise) keep full precision; a window made
 * of one repeated value gives deviations of exactly zero, hence a stddev of
 * exactly zero, never a tiny rounding residue.  The state is rebuilt from the
 * window (O(window)) when the shift's point leaves it, at most once per window
 * length, or when the rounding accumulated by adding and removing points
 * could reach the digits that matter (after a spike leaves the window): the
 * pass stays O(n) and every result is as good as a fresh two-pass computation.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "analytics/series.h"
#include "analytics/zscore.h"

/*
 * Rebuild when the sum of squares about the mean falls below this share of
 * everything the rolling sums have absorbed since the last rebuild: past it,
 * accumulated rounding (a few DBL_EPSILON of that total) could reach 1e-11 of
 * the result.
 */
#define ZSCORE_REBUILD_RATIO	1e-4

typedef struct ZWindow
{
	const double *x;
	const bool *missing;
	int			n;				/* points in the window */
	int			shift_pos;		/* index of the point whose value is the shift, -1 none */
	double		shift;
	double		s1;				/* sum of (x - shift) */
	double		s2;				/* sum of (x - shift)^2 */
	double		absorbed;		/* s2 at the rebuild plus every square added or removed since */
	bool		fresh;			/* rebuilt and nothing added or removed since */
} ZWindow;

/* Recomputes the window [lo, hi] from scratch, shifting by its last point. */
static void
zwindow_rebuild(ZWindow *w, int lo, int hi)
{
	w->n = 0;
	w->s1 = 0.0;
	w->s2 = 0.0;
	w->shift_pos = -1;
	for (int j = hi; j >= lo; j--)
	{
		if (!w->missing[j])
		{
			w->shift_pos = j;
			w->shift = w->x[j];
			break;
		}
	}
	if (w->shift_pos >= 0)
	{
		for (int j = lo; j <= hi; j++)
		{
			double		d;

			if (w->missing[j])
				continue;
			d = w->x[j] - w->shift;
			w->n++;
			w->s1 += d;
			w->s2 += d * d;
		}
	}
	w->absorbed = w->s2;
	w->fresh = true;
}

/* Adds point j (the newest) to the window. */
static void
zwindow_add(ZWindow *w, int j)
{
	double		d;

	if (w->missing[j])
		return;
	if (w->n == 0)
	{
		w->shift_pos = j;
		w->shift = w->x[j];
		w->n = 1;
		w->s1 = 0.0;
		w->s2 = 0.0;
		w->absorbed = 0.0;
		w->fresh = true;
		return;
	}
	d = w->x[j] - w->shift;
	w->n++;
	w->s1 += d;
	w->s2 += d * d;
	w->absorbed += d * d;
	w->fresh = false;
}

/* Removes point j (the oldest) from the window; false when a rebuild is due. */
static bool
zwindow_remove(ZWindow *w, int j)
{
	double		d;

	if (w->missing[j])
		return true;
	if (j == w->shift_pos)
		return false;
	d = w->x[j] - w->shift;
	w->n--;
	w->s1 -= d;
	w->s2 -= d * d;
	w->absorbed += d * d;
	w->fresh = false;
	return true;
}

/*
 * Computes out[i] for every point of x[0..count-1]: the statistics of the
 * window of up to `window` points before it and, where defined, its z-score.
 */
void
zscore_compute(const double *x, const bool *missing, int count,
			   int window, int min_history, ZScorePoint *out)
{
	ZWindow		w;
	bool		stale = false;

	memset(&w, 0, sizeof(w));
	w.x = x;
	w.missing = missing;
	w.shift_pos = -1;

	for (int i = 0; i < count; i++)
	{
		ZScorePoint *p = &out[i];
		int			lo = Max(i - window, 0);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		if (stale)
		{
			zwindow_rebuild(&w, lo, i - 1);
			stale = false;
		}

		p->n = w.n;
		p->has_z = false;
		p->mean = 0.0;
		p->stddev = 0.0;
		p->z = 0.0;
		if (w.n >= 2)
		{
			double		m2 = w.s2 - w.s1 * w.s1 / w.n;

			if (!w.fresh && m2 < w.absorbed * ZSCORE_REBUILD_RATIO)
			{
				zwindow_rebuild(&w, lo, i - 1);
				m2 = w.s2 - w.s1 * w.s1 / w.n;
			}
			if (m2 < 0.0)
				m2 = 0.0;
			p->mean = w.shift + w.s1 / w.n;
			p->stddev = sqrt(m2 / (w.n - 1));
			if (!missing[i] && w.n >= min_history && p->stddev > 0.0)
			{
				p->z = ((x[i] - w.shift) - w.s1 / w.n) / p->stddev;
				p->has_z = true;
			}
		}
		else if (w.n == 1)
			p->mean = w.shift + w.s1;

		/* Slide: point i enters, point i - window leaves. */
		zwindow_add(&w, i);
		if (i - window >= 0 && !zwindow_remove(&w, i - window))
			stale = true;
	}
}

/*
 * A preformed output row whose fields are overwritten in place.  Most rows
 * have all six columns present; copying such a row into the tuplestore costs
 * less than forming each one from values and nulls (size pass, zeroing, fill
 * pass).  Only usable when every column is fixed-width and passed by value.
 */
typedef struct ZRowTemplate
{
	HeapTuple	tuple;
	char	   *data;			/* start of the tuple's data area */
	int			off[ZSCORE_OUT_COLS];	/* offset of each column in it */
	bool		usable;
} ZRowTemplate;

/* Prepares t for rows of desc, or marks it unusable. */
static void
zscore_template_init(ZRowTemplate *t, TupleDesc desc)
{
	Datum		values[ZSCORE_OUT_COLS];
	bool		nulls[ZSCORE_OUT_COLS];
	int			off = 0;

	t->tuple = NULL;
	t->data = NULL;
	t->usable = desc->natts == ZSCORE_OUT_COLS;
	for (int i = 0; t->usable && i < ZSCORE_OUT_COLS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || !att->attbyval || att->attlen <= 0)
		{
			t->usable = false;
			break;
		}
		off = att_align_nominal(off, att->attalign);
		t->off[i] = off;
		off += att->attlen;
		values[i] = (Datum) 0;
		nulls[i] = false;
	}
	if (!t->usable)
		return;
	t->tuple = heap_form_tuple(desc, values, nulls);
	t->data = (char *) t->tuple->t_data + t->tuple->t_data->t_hoff;
}

/* Reads an int argument that must be present and within [lo, hi]. */
static int
zscore_int_arg(FunctionCallInfo fcinfo, int argno, const char *field, int lo, int hi)
{
	int			v;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must not be NULL.", field)));
	v = PG_GETARG_INT32(argno);
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must be between %d and %d; got %d.", field, lo, hi, v)));
	return v;
}

PG_FUNCTION_INFO_V1(wib_zscore_series);

/*
 * wib.zscore_series(vals, window_size, threshold, min_history)
 *		RETURNS TABLE (idx, value, mean, stddev, z, is_anomaly)
 */
Datum
wib_zscore_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			window;
	int			min_history;
	double		threshold;
	double	   *x;
	bool	   *missing;
	int			count;
	ZScorePoint *out;
	ZRowTemplate tmpl;

	window = zscore_int_arg(fcinfo, 1, "window_size", 2, ZSCORE_MAX_WINDOW);
	min_history = zscore_int_arg(fcinfo, 3, "min_history", ZSCORE_MIN_HISTORY_FLOOR, window);
	if (PG_ARGISNULL(2) || !(PG_GETARG_FLOAT8(2) > 0.0) || isinf(PG_GETARG_FLOAT8(2)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid threshold"),
				 errdetail("threshold must be a finite number greater than 0.")));
	threshold = PG_GETARG_FLOAT8(2);

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	zscore_template_init(&tmpl, rsinfo->setDesc);

	count = series_read(PG_GETARG_ARRAYTYPE_P(0), "vals", &x, &missing);
	out = palloc(sizeof(ZScorePoint) * Max(count, 1));
	zscore_compute(x, missing, count, window, min_history, out);

	for (int i = 0; i < count; i++)
	{
		Datum		values[ZSCORE_OUT_COLS];
		bool		nulls[ZSCORE_OUT_COLS] = {false, false, false, false, false, false};
		ZScorePoint *p = &out[i];

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		values[1] = Float8GetDatum(x[i]);
		nulls[1] = missing[i];
		values[2] = Float8GetDatum(p->mean);
		nulls[2] = p->n < 1;
		values[3] = Float8GetDatum(p->stddev);
		nulls[3] = p->n < 2;
		values[4] = Float8GetDatum(p->z);
		nulls[4] = !p->has_z;
		values[5] = BoolGetDatum(p->has_z && fabs(p->z) >= threshold);
		if (tmpl.usable && !nulls[1] && !nulls[2] && !nulls[3] && !nulls[4])
		{
			for (int c = 0; c < ZSCORE_OUT_COLS; c++)
				store_att_byval(tmpl.data + tmpl.off[c], values[c],
								TupleDescAttr(rsinfo->setDesc, c)->attlen);
			tuplestore_puttuple(rsinfo->setResult, tmpl.tuple);
		}
		else
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (tmpl.usable)
		heap_freetuple(tmpl.tuple);
	pfree(out);
	pfree(x);
	pfree(missing);
	return (Datum) 0;
}
