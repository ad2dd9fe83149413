/*
 * logreg_sql.c
 *		SQL glue of logistic regression and its metrics: wib.logreg_fit,
 *		wib.logreg_predict, wib.roc_auc, wib.log_loss, wib.brier_score.
 *
 * SQLSTATEs:
 *		22023 invalid_parameter_value: an argument of the wrong shape or range,
 *			  a NULL, NaN or infinite element, labels of a single class;
 *		22003 numeric_value_out_of_range: no finite solution (the classes are
 *			  separated and l2 = 0), features too large to standardize, a
 *			  linear predictor that is not a number;
 *		22000 data_exception: no unique solution (collinear features with
 *			  l2 = 0) or another numerical breakdown of the fit;
 *		54000 program_limit_exceeded: no convergence within max_iter.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "analytics/logreg.h"
#include "analytics/logreg_sql.h"
#include "analytics/metrics.h"

/* Raises 22023 "invalid <field>" when argument argno is NULL. */
#define LOGREG_REQUIRE_ARG(argno, field) \
	do { \
		if (PG_ARGISNULL(argno)) \
			ereport(ERROR, \
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					 errmsg("invalid %s", field), \
					 errdetail("%s must not be NULL.", field))); \
	} while (0)

/* 1-based position of the first NULL element of arr (which has one). */
static int
first_null(ArrayType *arr)
{
	bits8	   *bitmap = ARR_NULLBITMAP(arr);
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));

	for (int i = 0; i < n; i++)
		if (!(bitmap[i / 8] & (1 << (i % 8))))
			return i + 1;
	return 0;
}

/* A float8[] without NULLs, read in place (float8 arrays hold aligned doubles). */
const double *
logreg_sql_float8s(ArrayType *arr, const char *field, int max_ndim, int *count)
{
	if (ARR_NDIM(arr) > max_ndim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must have at most %d dimension%s, not %d.",
						   field, max_ndim, max_ndim == 1 ? "" : "s", ARR_NDIM(arr))));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("Element %d of %s is NULL; NULL elements are not allowed.",
						   first_null(arr), field)));
	*count = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (const double *) ARR_DATA_PTR(arr);
}

/* A boolean[] without NULLs, read in place (one byte per element, as C bool). */
const bool *
logreg_sql_bools(ArrayType *arr, const char *field, int *count)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must be a one-dimensional array, not %d-dimensional.",
						   field, ARR_NDIM(arr))));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("Element %d of %s is NULL; NULL elements are not allowed.",
						   first_null(arr), field)));
	*count = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (const bool *) ARR_DATA_PTR(arr);
}

/* The ranges of l2 and max_iter, checked before any row is read. */
void
logreg_sql_check_options(double l2, int max_iter)
{
	if (!(l2 >= 0.0) || isinf(l2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid l2"),
				 errdetail("l2 must be a finite number >= 0, not %g.", l2)));
	if (max_iter < 1 || max_iter > LOGREG_MAX_ITER_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid max_iter"),
				 errdetail("max_iter must be between 1 and %d, not %d.",
						   LOGREG_MAX_ITER_LIMIT, max_iter)));
}

/* The kernel's reason as a sentence: capitalized, with a period. */
static char *
reason_sentence(const char *reason)
{
	char	   *s = psprintf("%s.", reason);

	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] += 'A' - 'a';
	return s;
}

/* Maps a kernel status to its SQLSTATE (file comment); the kernel's reason is the detail. */
void
logreg_sql_report(const LogRegResult *res, const LogRegOptions *opt)
{
	char	   *detail = reason_sentence(res->reason);

	switch (res->status)
	{
		case LOGREG_BAD_INPUT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid features"),
					 errdetail_internal("%s", detail)));
			break;
		case LOGREG_SINGLE_CLASS:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid labels"),
					 errdetail_internal("%s", detail)));
			break;
		case LOGREG_OVERFLOW:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("feature %d is out of range for logistic regression", res->bad_feature + 1),
					 errdetail_internal("%s", detail)));
			break;
		case LOGREG_SEPARATED:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("logistic regression has no finite solution: the classes are separated"),
					 errdetail_internal("%s", detail),
					 errhint("Use l2 > 0 for penalized, finite coefficients, or drop the separating features.")));
			break;
		case LOGREG_SINGULAR:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("logistic regression has no unique solution: the features are linearly dependent"),
					 errdetail_internal("%s", detail),
					 errhint(opt->l2 > 0.0 ? "Drop the redundant feature or raise l2." :
							 "Drop the redundant feature or use l2 > 0.")));
			break;
		case LOGREG_NOT_CONVERGED:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("logistic regression did not converge within max_iter = %d iterations", opt->max_iter),
					 errdetail_internal("%s", detail),
					 errhint("Raise max_iter, or use l2 > 0 if the classes are nearly separated.")));
			break;
		case LOGREG_NUMERIC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("logistic regression failed numerically"),
					 errdetail_internal("%s", detail),
					 errhint("Rescale extreme features or use l2 > 0.")));
			break;
		case LOGREG_OK:
		case LOGREG_SOURCE_ERROR:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("logistic regression failed: %s", logreg_status_name(res->status)),
			 errdetail_internal("%s", detail)));
	pg_unreachable();
}

/* A one-dimensional float8[] of p + 1 elements. */
ArrayType *
logreg_sql_result(const double *coef, int p)
{
	Datum	   *d = palloc(sizeof(Datum) * (p + 1));

	for (int j = 0; j <= p; j++)
		d[j] = Float8GetDatum(coef[j]);
	return construct_array(d, p + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* The in-memory row source, with a cancel check on every row. */
static int
array_next_interruptible(void *arg, const double **x, bool *y)
{
	LogRegArraySource *as = arg;

	CHECK_FOR_INTERRUPTS();
	if (as->pos >= as->n)
		return 0;
	*x = as->x + as->pos * as->p;
	*y = as->y[as->pos];
	as->pos++;
	return 1;
}

PG_FUNCTION_INFO_V1(wib_logreg_fit);

/*
 * wib.logreg_fit(features, labels, n_features, l2, max_iter): the intercept
 * and n_features coefficients of the penalized logistic regression of labels
 * on the rows of features (row-major, or a two-dimensional rows x
 * n_features array).  Not strict: a NULL argument is an error, never a
 * silent NULL model.
 */
Datum
wib_logreg_fit(PG_FUNCTION_ARGS)
{
	ArrayType  *features_arr;
	ArrayType  *labels_arr;
	int			p,
				n_values,
				n_labels;
	const double *x;
	const bool *y;
	LogRegOptions opt;
	LogRegMoments mom;
	LogRegArraySource as;
	LogRegSource src;
	LogRegResult res;
	double	   *coef;
	int64		rows;

	LOGREG_REQUIRE_ARG(0, "features");
	LOGREG_REQUIRE_ARG(1, "labels");
	LOGREG_REQUIRE_ARG(2, "n_features");
	LOGREG_REQUIRE_ARG(3, "l2");
	LOGREG_REQUIRE_ARG(4, "max_iter");
	features_arr = PG_GETARG_ARRAYTYPE_P(0);
	labels_arr = PG_GETARG_ARRAYTYPE_P(1);
	p = PG_GETARG_INT32(2);
	opt.l2 = PG_GETARG_FLOAT8(3);
	opt.max_iter = PG_GETARG_INT32(4);

	if (p < 1 || p > LOGREG_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid n_features"),
				 errdetail("n_features must be between 1 and %d, not %d.", LOGREG_MAX_FEATURES, p)));
	logreg_sql_check_options(opt.l2, opt.max_iter);
	x = logreg_sql_float8s(features_arr, "features", 2, &n_values);
	y = logreg_sql_bools(labels_arr, "labels", &n_labels);
	if (ARR_NDIM(features_arr) == 2 && ARR_DIMS(features_arr)[1] != p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid features"),
				 errdetail("A two-dimensional features array must have n_features = %d columns, not %d.",
						   p, ARR_DIMS(features_arr)[1])));
	if (n_values % p != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid features"),
				 errdetail("features has %d elements, which is not a multiple of n_features = %d.",
						   n_values, p)));
	rows = n_values / p;
	if (rows != n_labels)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid labels"),
				 errdetail("labels has %d elements but features has %lld rows of %d; there must be one label per row.",
						   n_labels, (long long) rows, p)));

	logreg_moments_init(&mom, p, palloc(logreg_moments_size(p)));
	for (int64 i = 0; i < rows; i++)
	{
		int			bad;

		CHECK_FOR_INTERRUPTS();
		bad = logreg_moments_add(&mom, x + i * p, y[i]);
		if (bad >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid features"),
					 errdetail("Feature %d of row %lld is %g; features must be finite.",
							   bad + 1, (long long) (i + 1), x[i * p + bad])));
	}

	logreg_array_source(&as, x, y, rows, p, &src);
	src.next = array_next_interruptible;
	coef = palloc(sizeof(double) * (p + 1));
	if (logreg_fit(&src, &mom, &opt, palloc(logreg_work_size(p)), coef, &res) != LOGREG_OK)
		logreg_sql_report(&res, &opt);
	PG_RETURN_ARRAYTYPE_P(logreg_sql_result(coef, p));
}

PG_FUNCTION_INFO_V1(wib_logreg_predict);

/*
 * wib.logreg_predict(coefficients, features): the probability of label true,
 * 1 / (1 + exp(-z)) with z = coefficients[1] + features . coefficients[2:],
 * computed without overflow for any z.
 */
Datum
wib_logreg_predict(PG_FUNCTION_ARGS)
{
	int			n_coef,
				p;
	const double *coef = logreg_sql_float8s(PG_GETARG_ARRAYTYPE_P(0), "coefficients", 1, &n_coef);
	const double *x = logreg_sql_float8s(PG_GETARG_ARRAYTYPE_P(1), "features", 1, &p);
	double		z;

	if (n_coef != p + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid coefficients"),
				 errdetail("coefficients has %d elements but features has %d; coefficients must be the intercept followed by one coefficient per feature.",
						   n_coef, p)));
	for (int j = 0; j < n_coef; j++)
		if (!isfinite(coef[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid coefficients"),
					 errdetail("Element %d of coefficients is %g; coefficients must be finite.", j + 1, coef[j])));
	for (int j = 0; j < p; j++)
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid features"),
					 errdetail("Element %d of features is %g; features must be finite.", j + 1, x[j])));
	z = logreg_linear(coef, x, p);
	if (isnan(z))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("linear predictor is out of range"),
				 errdetail("Its terms overflow with opposite signs.")));
	PG_RETURN_FLOAT8(logreg_sigmoid(z));
}

/* Reads the (values, labels) pair of a metric, checking their lengths. */
static int
metric_args(FunctionCallInfo fcinfo, const char *values_field,
			const double **values, const bool **labels)
{
	int			n,
				n_labels;

	*values = logreg_sql_float8s(PG_GETARG_ARRAYTYPE_P(0), values_field, 1, &n);
	*labels = logreg_sql_bools(PG_GETARG_ARRAYTYPE_P(1), "labels", &n_labels);
	if (n != n_labels)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid labels"),
				 errdetail("labels has %d elements but %s has %d; they must be equally long.",
						   n_labels, values_field, n)));
	return n;
}

/* Raises 22023 naming field for a metric's failure. */
static void
metric_report(MetricsStatus st, const char *field, const char *reason)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s", st == METRICS_SINGLE_CLASS ? "labels" : field),
			 errdetail_internal("%s", reason_sentence(reason))));
}

PG_FUNCTION_INFO_V1(wib_roc_auc);

/* wib.roc_auc(scores, labels): scikit-learn's roc_auc_score, O(n log n). */
Datum
wib_roc_auc(PG_FUNCTION_ARGS)
{
	const double *scores;
	const bool *labels;
	int			n = metric_args(fcinfo, "scores", &scores, &labels);
	char		reason[METRICS_REASON_LEN];
	double		auc;
	void	   *scratch = MemoryContextAllocHuge(CurrentMemoryContext,
												 metrics_roc_auc_scratch_size(n));
	MetricsStatus st = metrics_roc_auc(scores, labels, n, scratch, &auc, reason);

	if (st != METRICS_OK)
		metric_report(st, "scores", reason);
	pfree(scratch);
	PG_RETURN_FLOAT8(auc);
}

PG_FUNCTION_INFO_V1(wib_log_loss);

/* wib.log_loss(probabilities, labels): scikit-learn's log_loss (eps = 1e-15). */
Datum
wib_log_loss(PG_FUNCTION_ARGS)
{
	const double *prob;
	const bool *labels;
	int			n = metric_args(fcinfo, "probabilities", &prob, &labels);
	char		reason[METRICS_REASON_LEN];
	double		v;
	MetricsStatus st = metrics_log_loss(prob, labels, n, &v, reason);

	if (st != METRICS_OK)
		metric_report(st, "probabilities", reason);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(wib_brier_score);

/* wib.brier_score(probabilities, labels): scikit-learn's brier_score_loss. */
Datum
wib_brier_score(PG_FUNCTION_ARGS)
{
	const double *prob;
	const bool *labels;
	int			n = metric_args(fcinfo, "probabilities", &prob, &labels);
	char		reason[METRICS_REASON_LEN];
	double		v;
	MetricsStatus st = metrics_brier(prob, labels, n, &v, reason);

	if (st != METRICS_OK)
		metric_report(st, "probabilities", reason);
	PG_RETURN_FLOAT8(v);
}
