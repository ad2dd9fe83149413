/*
 * ml_fit.c
 *		wib.ml_fit_eval: one training of a contact model in one call, from
 *		the rows' features (missing values allowed) to the holdout metrics.
 *
 * The contact models standardize each feature with the training rows' mean
 * and population standard deviation (a missing value, or a feature without
 * spread, becomes 0), fit the logistic regression on the training rows and
 * score the holdout rows.  Done in SQL, that is a dozen aggregates, an
 * expression and a function call per row; here the rows are read once from
 * three arrays into one compact block of doubles, the moments are the ones
 * avg() and stddev_pop() compute (the same accumulation, in the same row
 * order, so the same doubles), and the fit is logreg_fit_array on that block:
 * the result equals what wib.logreg_fit_agg gives on wib.ml_scale of the
 * same rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "analytics/logreg.h"
#include "analytics/logreg_sql.h"
#include "analytics/metrics.h"

#define ML_FIT_OUT_COLS 13

/* A float8[] of n values, element j NULL where nulls[j] (nulls may be NULL). */
static Datum
float8_array(const double *v, const bool *nulls, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int j = 0; j < n; j++)
		d[j] = Float8GetDatum(v[j]);
	return PointerGetDatum(construct_md_array(d, (bool *) nulls, 1, dims, lbs, FLOAT8OID,
											  sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A boolean[] of n values. */
static Datum
bool_array(const bool *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int j = 0; j < n; j++)
		d[j] = BoolGetDatum(v[j]);
	return PointerGetDatum(construct_array(d, n, BOOLOID, 1, true, TYPALIGN_CHAR));
}

/* Raises 22023 "invalid <field>" with a detail. */
static void
bad_arg(const char *field, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s", field),
			 errdetail_internal("%s", detail)));
}

PG_FUNCTION_INFO_V1(wib_ml_fit_eval);

/*
 * wib.ml_fit_eval(features, is_eval, labels, l2, max_iter, min_train,
 * min_eval): features is rows x p (two-dimensional, NULL elements for
 * missing values), is_eval and labels one per row.  Returns the class
 * counts, the training means and scales (NULL for a feature without values),
 * whether each class has min_train training and min_eval holdout rows, and
 * when it has: the coefficients on the standardized features, the holdout's
 * probabilities and labels, AUC, log loss and Brier score.  A failing fit
 * raises the error wib.logreg_fit would.
 */
Datum
wib_ml_fit_eval(PG_FUNCTION_ARGS)
{
	ArrayType  *xa;
	const bool *is_eval;
	const bool *labels;
	int			n,
				p,
				n_flags,
				n_labels,
				min_train,
				min_eval;
	LogRegOptions opt;
	const double *xv;
	bits8	   *xnull;
	int64		n_train = 0,
				pos_train = 0,
				n_eval = 0,
				pos_eval = 0;
	double	   *cnt,
			   *sx,
			   *sxx,
			   *mean,
			   *scale;
	bool	   *mean_null,
			   *scale_null;
	bool		enough;
	TupleDesc	tupdesc;
	Datum		out[ML_FIT_OUT_COLS];
	bool		out_null[ML_FIT_OUT_COLS];

	for (int a = 0; a < 7; a++)
		if (PG_ARGISNULL(a))
			bad_arg(a == 0 ? "features" : a == 1 ? "is_eval" : a == 2 ? "labels" : a == 3 ? "l2" :
					a == 4 ? "max_iter" : a == 5 ? "min_train" : "min_eval", "It is NULL.");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("wib.ml_fit_eval must return a record")));
	tupdesc = BlessTupleDesc(tupdesc);

	xa = PG_GETARG_ARRAYTYPE_P(0);
	is_eval = logreg_sql_bools(PG_GETARG_ARRAYTYPE_P(1), "is_eval", &n_flags);
	labels = logreg_sql_bools(PG_GETARG_ARRAYTYPE_P(2), "labels", &n_labels);
	opt.l2 = PG_GETARG_FLOAT8(3);
	opt.max_iter = PG_GETARG_INT32(4);
	min_train = PG_GETARG_INT32(5);
	min_eval = PG_GETARG_INT32(6);
	logreg_sql_check_options(opt.l2, opt.max_iter);

	if (ARR_ELEMTYPE(xa) != FLOAT8OID || (ARR_NDIM(xa) != 2 && ARR_NDIM(xa) != 0))
		bad_arg("features", "features must be a two-dimensional float8 array, one row per example.");
	/* No rows at all: an empty array, no features. */
	n = ARR_NDIM(xa) == 0 ? 0 : ARR_DIMS(xa)[0];
	p = ARR_NDIM(xa) == 0 ? 0 : ARR_DIMS(xa)[1];
	if (n > 0 && (p < 1 || p > LOGREG_MAX_FEATURES))
		bad_arg("features", psprintf("Rows must have between 1 and %d features, not %d.", LOGREG_MAX_FEATURES, p));
	if (n_flags != n || n_labels != n)
		bad_arg(n_flags != n ? "is_eval" : "labels",
				psprintf("features has %d rows, is_eval %d elements and labels %d; they must be equally many.",
						 n, n_flags, n_labels));
	xv = (const double *) ARR_DATA_PTR(xa);
	xnull = ARR_NULLBITMAP(xa);

	/*
	 * Pass 1: class counts and, over the training rows, float8_accum's N, Sx
	 * and Sxx (Youngs-Cramer) per feature: what avg() and stddev_pop() give.
	 * Elements are stored without gaps for NULLs, so a cursor walks them.
	 */
	cnt = palloc0(sizeof(double) * (p + 1));
	sx = palloc0(sizeof(double) * (p + 1));
	sxx = palloc0(sizeof(double) * (p + 1));
	{
		const double *cur = xv;

		for (int i = 0; i < n; i++)
		{
			if (is_eval[i])
			{
				n_eval++;
				pos_eval += labels[i];
			}
			else
			{
				n_train++;
				pos_train += labels[i];
			}
			for (int j = 0; j < p; j++)
			{
				int64		k = (int64) i * p + j;
				double		v;

				if (xnull && !(xnull[k / 8] & (1 << (k % 8))))
					continue;
				v = *cur++;
				if (!isfinite(v))
					bad_arg("features", psprintf("Feature %d of row %d is %g; features must be finite or NULL.", j + 1, i + 1, v));
				if (is_eval[i])
					continue;
				cnt[j] += 1;
				sx[j] += v;
				if (cnt[j] > 1)
				{
					double		t = v * cnt[j] - sx[j];

					sxx[j] += t * t / (cnt[j] * (cnt[j] - 1));
				}
			}
		}
	}
	mean = palloc(sizeof(double) * (p + 1));
	scale = palloc(sizeof(double) * (p + 1));
	mean_null = palloc(sizeof(bool) * (p + 1));
	scale_null = palloc(sizeof(bool) * (p + 1));
	for (int j = 0; j < p; j++)
	{
		mean_null[j] = scale_null[j] = cnt[j] == 0;
		mean[j] = cnt[j] == 0 ? 0 : sx[j] / cnt[j];
		scale[j] = cnt[j] == 0 ? 0 : sxx[j] <= 0 ? 0 : sqrt(sxx[j] / cnt[j]);
	}
	enough = n > 0 && pos_train >= min_train && n_train - pos_train >= min_train &&
		pos_eval >= min_eval && n_eval - pos_eval >= min_eval;

	memset(out_null, true, sizeof(out_null));
	out[0] = Int64GetDatum(n_train);
	out[1] = Int64GetDatum(pos_train);
	out[2] = Int64GetDatum(n_eval);
	out[3] = Int64GetDatum(pos_eval);
	out[4] = float8_array(mean, mean_null, p);
	out[5] = float8_array(scale, scale_null, p);
	out[6] = BoolGetDatum(enough);
	for (int c = 0; c <= 6; c++)
		out_null[c] = false;

	if (enough)
	{
		/* Pass 2: the standardized rows, training and holdout apart. */
		double	   *zt = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * p * Max(n_train, 1));
		double	   *ze = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * p * Max(n_eval, 1));
		bool	   *yt = palloc(sizeof(bool) * Max(n_train, 1));
		bool	   *ye = palloc(sizeof(bool) * Max(n_eval, 1));
		double	   *pe = palloc(sizeof(double) * Max(n_eval, 1));
		double	   *coef = palloc(sizeof(double) * (p + 1));
		const double *cur = xv;
		int64		it = 0,
					ie = 0;
		LogRegResult res;
		char		reason[METRICS_REASON_LEN];
		double		auc,
					loss,
					brier;

		for (int i = 0; i < n; i++)
		{
			double	   *z = is_eval[i] ? ze + ie * p : zt + it * p;

			CHECK_FOR_INTERRUPTS();
			for (int j = 0; j < p; j++)
			{
				int64		k = (int64) i * p + j;

				if (xnull && !(xnull[k / 8] & (1 << (k % 8))))
					z[j] = 0;
				else
				{
					double		v = *cur++;

					z[j] = (mean_null[j] || scale[j] == 0) ? 0 : (v - mean[j]) / scale[j];
				}
			}
			if (is_eval[i])
				ye[ie++] = labels[i];
			else
				yt[it++] = labels[i];
		}

		if (logreg_fit_array(zt, yt, n_train, p, &opt, palloc(logreg_moments_size(p)),
							 palloc(logreg_work_size(p)), coef, &res) != LOGREG_OK)
			logreg_sql_report(&res, &opt);
		for (int64 i = 0; i < n_eval; i++)
			pe[i] = logreg_sigmoid(logreg_linear(coef, ze + i * p, p));
		if (metrics_roc_auc(pe, ye, n_eval, palloc(metrics_roc_auc_scratch_size(n_eval)), &auc, reason) != METRICS_OK ||
			metrics_log_loss(pe, ye, n_eval, &loss, reason) != METRICS_OK ||
			metrics_brier(pe, ye, n_eval, &brier, reason) != METRICS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the holdout could not be scored"),
					 errdetail_internal("%s", reason)));
		out[7] = float8_array(coef, NULL, p + 1);
		out[8] = float8_array(pe, NULL, n_eval);
		out[9] = bool_array(ye, n_eval);
		out[10] = Float8GetDatum(auc);
		out[11] = Float8GetDatum(loss);
		out[12] = Float8GetDatum(brier);
		for (int c = 7; c < ML_FIT_OUT_COLS; c++)
			out_null[c] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, out_null)));
}
