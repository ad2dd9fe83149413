/*
 * logreg_rows.c
 *		The data side of the logistic regression kernel: per-feature moments,
 *		an in-memory row source, the logistic function and the gradient used
 *		to check an optimum.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analytics/logreg.h"

/* Bytes of the four per-feature arrays of LogRegMoments. */
size_t
logreg_moments_size(int p)
{
	return sizeof(double) * 4 * (size_t) (p > 0 ? p : 1);
}

/* Empty moments over caller memory: no rows, extremes at +-infinity. */
void
logreg_moments_init(LogRegMoments *m, int p, void *buf)
{
	double	   *d = buf;

	m->p = p;
	m->n = 0;
	m->n_pos = 0;
	m->mean = d;
	m->m2 = d + p;
	m->min = d + 2 * p;
	m->max = d + 3 * p;
	for (int j = 0; j < p; j++)
	{
		m->mean[j] = 0.0;
		m->m2[j] = 0.0;
		m->min[j] = HUGE_VAL;
		m->max[j] = -HUGE_VAL;
	}
}

/* Welford's update: stable for columns with a large offset and small spread. */
int
logreg_moments_add(LogRegMoments *m, const double *x, bool y)
{
	double		inv_n;

	for (int j = 0; j < m->p; j++)
		if (!isfinite(x[j]))
			return j;
	m->n++;
	if (y)
		m->n_pos++;
	inv_n = 1.0 / (double) m->n;
	for (int j = 0; j < m->p; j++)
	{
		double		d = x[j] - m->mean[j];

		m->mean[j] += d * inv_n;
		m->m2[j] += d * (x[j] - m->mean[j]);
		if (x[j] < m->min[j])
			m->min[j] = x[j];
		if (x[j] > m->max[j])
			m->max[j] = x[j];
	}
	return -1;
}

/* exp of a non-positive number only: no overflow, full relative accuracy in both tails. */
double
logreg_sigmoid(double z)
{
	double		e = exp(-fabs(z));

	return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* coef[0] + sum coef[j + 1] x[j]. */
double
logreg_linear(const double *coef, const double *x, int p)
{
	double		z = coef[0];

	for (int j = 0; j < p; j++)
		z += coef[j + 1] * x[j];
	return z;
}

/* Source callbacks over an in-memory data set. */
static bool
array_rewind(void *arg)
{
	((LogRegArraySource *) arg)->pos = 0;
	return true;
}

/* The next row of an in-memory data set, pointing into it. */
static int
array_next(void *arg, const double **x, bool *y)
{
	LogRegArraySource *as = arg;

	if (as->pos >= as->n)
		return 0;
	*x = as->x + as->pos * as->p;
	*y = as->y[as->pos];
	as->pos++;
	return 1;
}

/* Binds an in-memory data set to a LogRegSource. */
void
logreg_array_source(LogRegArraySource *as, const double *x, const bool *y,
					int64_t n, int p, LogRegSource *src)
{
	as->x = x;
	as->y = y;
	as->n = n;
	as->p = p;
	as->pos = 0;
	src->arg = as;
	src->rewind = array_rewind;
	src->next = array_next;
}

/* Moments of the rows (refusing a non-finite value, naming it), then the fit. */
LogRegStatus
logreg_fit_array(const double *x, const bool *y, int64_t n, int p,
				 const LogRegOptions *opt, void *moments_buf, void *work,
				 double *coef, LogRegResult *res)
{
	LogRegMoments mom;
	LogRegArraySource as;
	LogRegSource src;

	if (p < 1 || p > LOGREG_MAX_FEATURES)
	{
		memset(res, 0, sizeof(*res));
		res->bad_feature = -1;
		snprintf(res->reason, LOGREG_REASON_LEN,
				 "the number of features must be between 1 and %d, not %d",
				 LOGREG_MAX_FEATURES, p);
		res->status = LOGREG_BAD_INPUT;
		return LOGREG_BAD_INPUT;
	}
	logreg_moments_init(&mom, p, moments_buf);
	for (int64_t i = 0; i < n; i++)
	{
		int			bad = logreg_moments_add(&mom, x + i * p, y[i]);

		if (bad >= 0)
		{
			memset(res, 0, sizeof(*res));
			res->bad_feature = bad;
			snprintf(res->reason, LOGREG_REASON_LEN,
					 "feature %d of row %lld is %g; features must be finite",
					 bad + 1, (long long) (i + 1), x[i * p + bad]);
			res->status = LOGREG_BAD_INPUT;
			return LOGREG_BAD_INPUT;
		}
	}
	logreg_array_source(&as, x, y, n, p, &src);
	return logreg_fit(&src, &mom, opt, work, coef, res);
}

/* One pass: compensated sums of the gradient terms, then the penalty. */
bool
logreg_gradient(const LogRegSource *src, int p, const double *coef, const double *center,
				double l2, double *grad, double *scale)
{
	double		gc[LOGREG_MAX_FEATURES + 1];
	const double *x;
	bool		y;
	int			rc;

	if (p < 1 || p > LOGREG_MAX_FEATURES || !src->rewind(src->arg))
		return false;
	for (int j = 0; j <= p; j++)
	{
		grad[j] = 0.0;
		gc[j] = 0.0;
		if (scale)
			scale[j] = 0.0;
	}
	while ((rc = src->next(src->arg, &x, &y)) == 1)
	{
		double		z = logreg_linear(coef, x, p);
		double		r = y ? -logreg_sigmoid(-z) : logreg_sigmoid(z);

		for (int j = 0; j <= p; j++)
		{
			double		term = j == 0 ? r : r * (center ? x[j - 1] - center[j - 1] : x[j - 1]);

			logreg_sum_add(&grad[j], &gc[j], term);
			if (scale)
				scale[j] += fabs(term);
		}
	}
	if (rc != 0)
		return false;
	for (int j = 1; j <= p; j++)
	{
		logreg_sum_add(&grad[j], &gc[j], l2 * coef[j]);
		if (scale)
			scale[j] += fabs(l2 * coef[j]);
	}
	for (int j = 0; j <= p; j++)
		grad[j] += gc[j];
	return true;
}
