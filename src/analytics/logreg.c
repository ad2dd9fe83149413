/*
 * logreg.c
 *		Newton/IRLS fit of an L2-penalized logistic regression over a row
 *		source: one sequential pass per Newton iteration, memory O(p^2).
 *
 * Each pass computes, at the current standardized coefficients v, the
 * objective, its gradient (compensated sums) and the Hessian
 * sum_i p_i (1 - p_i) u_i u_i' + diag(0, l2 / sd^2); the step solves the
 * Newton system by Cholesky.  A step is taken whole when it decreases the
 * objective enough (Armijo), else halved, each trial being a pass.
 *
 * Coordinates: u_ij = (x_ij - centre_j) / scale_j, first the plain mean and
 * SD, then before each step's trials the mean and SD weighted by the IRLS
 * weights p (1 - p) of the last accepted pass (see fit_recenter).  Every
 * change is an exact reparametrization of the same objective.
 *
 * Stopping: the fit has converged when the Newton step changes no row's
 * linear predictor z by more than LOGREG_STEP_TOL: either its bound through
 * the features' extremes (the step is then applied) or, for the last full
 * step taken, its exact size measured in that step's pass.  Newton's
 * quadratic convergence leaves an error of the order of its square.  It has
 * also converged when twice in a row the decrease the step predicts (half
 * the Newton decrement) is below the rounding of the objective itself
 * (32 eps times f + sum_k |v_k| sum_i |r_i u_ik|, the second term what the
 * rounding of z costs), the gradient is below LOGREG_GRAD_FLOOR of its
 * terms and the last step moved z by at most LOGREG_NOISE_STEP: an
 * ill-conditioned problem can get no closer in double precision, while a
 * diverging or slowly creeping fit, whose objective also flattens out, is
 * never taken for a converged one.  The same holds when the line search
 * finds no decrease at all.

 * Separation (l2 = 0): a direction d with (2y_i - 1) u_i.d >= 0 for every
 * row, > 0 for some, proves that the likelihood keeps growing along d, so no
 * finite maximum exists.  On data that are separable the Newton steps line
 * up with such a direction, so each trial pass tests its step as that
 * certificate (with a rounding allowance, LOGREG_CERT_TOL).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analytics/logreg.h"

/* Armijo sufficient-decrease fraction and the smallest step fraction tried. */
#define LOGREG_ARMIJO			1e-4
#define LOGREG_MIN_STEP_FRACTION	1e-10
/* A Cholesky pivot below this share of its diagonal entry means collinearity. */
#define LOGREG_PIVOT_TOL		1e-12
/*
 * Rounding allowance of the separation certificate: 1e-9 of the direction's
 * largest component times the row's sum |u_k|.  No wider: a fit whose
 * finite optimum hangs on differences of z near the rounding of z must not
 * be declared separated (it is then reported as not converging, with the
 * hint that the classes may be nearly separated).
 */
#define LOGREG_CERT_TOL			1e-9
/*
 * Largest step (change of z) the rounding-floor stop accepts: a step that
 * moves the fit by more is progress (or divergence), not noise.  Noise that
 * large is seen only on rows whose weight p (1 - p) is negligible.
 */
#define LOGREG_NOISE_STEP		1e-3
/*
 * And the largest gradient, relative to the sum of its terms' magnitudes: a
 * flat objective with a larger gradient is slow progress, not the optimum.
 */
#define LOGREG_GRAD_FLOOR		1e-9

/* The fit's working state, carved out of the caller's workspace. */
typedef struct Fit
{
	const LogRegSource *src;
	const LogRegMoments *mom;	/* the rows' extremes bound each u */
	int			p;				/* features */
	int			na;				/* unknowns: intercept + active features */
	double		l2;
	int		   *idx;			/* na - 1 active feature indices */
	double	   *mean;			/* [na - 1] */
	double	   *inv_sd;			/* [na - 1] */
	double	   *pw;				/* [na - 1] l2 / sd^2 */
	double	   *v;				/* [na] current coefficients */
	double	   *vt;				/* [na] trial coefficients */
	double	   *step;			/* [na] Newton step */
	double	   *g;				/* [na] gradient */
	double	   *gc;				/* [na] its compensation terms */
	double	   *gabs;			/* [na] sums of the absolute values of its terms */
	double	   *u;				/* [na] one standardized row, u[0] = 1 */
	double	   *h;				/* [na * na] Hessian, lower triangle */
	double		wsum;			/* the pass's sum of IRLS weights p (1 - p) */
	double	   *wmean;			/* [na - 1] weighted means of the pass */
	double	   *wm2;			/* [na - 1] weighted sums of squared deviations */
} Fit;

/* What one pass found besides the gradient and Hessian. */
typedef struct PassOut
{
	double		f;
	int64_t		violations;		/* rows on the wrong side of the direction */
	int64_t		strict;			/* rows strictly on the right side */
	double		dz_max;			/* max over rows of |u_i . dir| */
} PassOut;

/* A short name of a status, for messages. */
const char *
logreg_status_name(LogRegStatus status)
{
	switch (status)
	{
		case LOGREG_OK:
			return "ok";
		case LOGREG_BAD_INPUT:
			return "bad input";
		case LOGREG_SINGLE_CLASS:
			return "single class";
		case LOGREG_OVERFLOW:
			return "overflow";
		case LOGREG_SEPARATED:
			return "separated";
		case LOGREG_SINGULAR:
			return "singular";
		case LOGREG_NOT_CONVERGED:
			return "not converged";
		case LOGREG_NUMERIC:
			return "numerical failure";
		case LOGREG_SOURCE_ERROR:
			return "source error";
	}
	return "unknown";
}

/*
 * Workspace: the standardization and the weighted moments (5 vectors), seven
 * vectors of p + 1, the (p+1)^2 Hessian and p + 1 indices.
 */
size_t
logreg_work_size(int p)
{
	size_t		na = (size_t) (p > 0 ? p : 0) + 1;

	return sizeof(double) * (12 * na + na * na) + sizeof(int) * na;
}

/*
 * One pass over the rows at coefficients v: objective, gradient, Hessian,
 * and, when dir is not NULL, how the rows sit along dir (separation test).
 */
static LogRegStatus
fit_pass(Fit *fit, const double *v, const double *dir, PassOut *out, LogRegResult *res)
{
	const int	na = fit->na;
	double	   *restrict u = fit->u;
	double	   *restrict h = fit->h;
	double		f = 0.0,
				fc = 0.0;
	double		dir_max = 0.0;
	const double *x;
	bool		y;
	int			rc;

	for (int k = 0; dir && k < na; k++)
		dir_max = fmax(dir_max, fabs(dir[k]));
	memset(fit->g, 0, sizeof(double) * na);
	memset(fit->gc, 0, sizeof(double) * na);
	memset(fit->gabs, 0, sizeof(double) * na);
	memset(h, 0, sizeof(double) * na * na);
	memset(fit->wmean, 0, sizeof(double) * (na - 1));
	memset(fit->wm2, 0, sizeof(double) * (na - 1));
	fit->wsum = 0.0;
	out->violations = 0;
	out->strict = 0;
	out->dz_max = 0.0;

	if (!fit->src->rewind(fit->src->arg))
	{
		snprintf(res->reason, LOGREG_REASON_LEN, "the row source could not be rewound");
		return LOGREG_SOURCE_ERROR;
	}
	res->passes++;
	while ((rc = fit->src->next(fit->src->arg, &x, &y)) == 1)
	{
		double		z = v[0];
		double		e,
					d,
					pr,
					q,
					r,
					w;

		u[0] = 1.0;
		for (int k = 1; k < na; k++)
		{
			u[k] = (x[fit->idx[k - 1]] - fit->mean[k - 1]) * fit->inv_sd[k - 1];
			z += v[k] * u[k];
		}
		/* p = sigmoid(z) and q = 1 - p, each without cancellation. */
		e = exp(-fabs(z));
		d = 1.0 + e;
		pr = z >= 0 ? 1.0 / d : e / d;
		q = z >= 0 ? e / d : 1.0 / d;
		r = y ? -q : pr;
		w = pr * q;
		logreg_sum_add(&f, &fc, log1p(e) + (y ? fmax(-z, 0.0) : fmax(z, 0.0)));
		if (w > 0.0)
		{
			/* Weighted Welford update: the next coordinates' centre and scale. */
			double		ws = fit->wsum + w,
						share = w / ws;

			for (int k = 1; k < na; k++)
			{
				double		xk = x[fit->idx[k - 1]],
							dk = xk - fit->wmean[k - 1];

				fit->wmean[k - 1] += dk * share;
				fit->wm2[k - 1] += w * dk * (xk - fit->wmean[k - 1]);
			}
			fit->wsum = ws;
		}
		for (int a = 0; a < na; a++)
		{
			double		wa = w * u[a];

			logreg_sum_add(&fit->g[a], &fit->gc[a], r * u[a]);
			fit->gabs[a] += fabs(r * u[a]);
			for (int b = 0; b <= a; b++)
				h[a * na + b] += wa * u[b];
		}
		if (dir)
		{
			double		t = 0.0,
						mag = 0.0;

			for (int k = 0; k < na; k++)
			{
				t += dir[k] * u[k];
				mag += fabs(u[k]);
			}
			out->dz_max = fmax(out->dz_max, fabs(t));
			if (!y)
				t = -t;
			mag *= LOGREG_CERT_TOL * dir_max;
			if (t < -mag)
				out->violations++;
			else if (t > mag)
				out->strict++;
		}
	}
	if (rc != 0)
	{
		snprintf(res->reason, LOGREG_REASON_LEN, "the row source failed while reading");
		return LOGREG_SOURCE_ERROR;
	}
	for (int k = 1; k < na; k++)
	{
		logreg_sum_add(&f, &fc, 0.5 * fit->pw[k - 1] * v[k] * v[k]);
		logreg_sum_add(&fit->g[k], &fit->gc[k], fit->pw[k - 1] * v[k]);
		fit->gabs[k] += fabs(fit->pw[k - 1] * v[k]);
		h[k * na + k] += fit->pw[k - 1];
	}
	for (int k = 0; k < na; k++)
		fit->g[k] += fit->gc[k];
	out->f = f + fc;
	if (!isfinite(out->f))
	{
		snprintf(res->reason, LOGREG_REASON_LEN, "the objective is not finite");
		return LOGREG_NUMERIC;
	}
	return LOGREG_OK;
}

/*
 * Cholesky factorization in place of the lower triangle of the n x n matrix
 * a.  Returns -1, or the first pivot that is not safely positive.
 */
static int
cholesky(double *a, int n)
{
	for (int j = 0; j < n; j++)
	{
		double		s = a[j * n + j];
		double		ljj;

		for (int k = 0; k < j; k++)
			s -= a[j * n + k] * a[j * n + k];
		if (!(s > LOGREG_PIVOT_TOL * a[j * n + j]) || !isfinite(s))
			return j;
		ljj = sqrt(s);
		a[j * n + j] = ljj;
		for (int i = j + 1; i < n; i++)
		{
			double		t = a[i * n + j];

			for (int k = 0; k < j; k++)
				t -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = t / ljj;
		}
	}
	return -1;
}

/* Solves L L' x = -g with the factor of cholesky(). */
static void
cholesky_solve_neg(const double *l, int n, const double *g, double *x)
{
	for (int i = 0; i < n; i++)
	{
		double		t = -g[i];

		for (int k = 0; k < i; k++)
			t -= l[i * n + k] * x[k];
		x[i] = t / l[i * n + i];
	}
	for (int i = n - 1; i >= 0; i--)
	{
		double		t = x[i];

		for (int k = i + 1; k < n; k++)
			t -= l[k * n + i] * x[k];
		x[i] = t / l[i * n + i];
	}
}

/* Lays the fit's arrays out in the workspace. */
static void
fit_layout(Fit *fit, int p, void *work)
{
	size_t		na = (size_t) p + 1;
	double	   *d = work;

	fit->mean = d;
	fit->inv_sd = d + na;
	fit->pw = d + 2 * na;
	fit->v = d + 3 * na;
	fit->vt = d + 4 * na;
	fit->step = d + 5 * na;
	fit->g = d + 6 * na;
	fit->gc = d + 7 * na;
	fit->u = d + 8 * na;
	fit->wmean = d + 9 * na;
	fit->wm2 = d + 10 * na;
	fit->gabs = d + 11 * na;
	fit->h = d + 12 * na;
	fit->idx = (int *) (d + 12 * na + na * na);
}

/*
 * Checks the moments and sets up the standardization: active columns,
 * their mean, 1/sd and penalty weight.
 */
static LogRegStatus
fit_setup(Fit *fit, const LogRegMoments *mom, const LogRegOptions *opt, LogRegResult *res)
{
	int			p = mom->p;

	if (p < 1 || p > LOGREG_MAX_FEATURES)
	{
		snprintf(res->reason, LOGREG_REASON_LEN,
				 "the number of features must be between 1 and %d, not %d",
				 LOGREG_MAX_FEATURES, p);
		return LOGREG_BAD_INPUT;
	}
	if (!(opt->l2 >= 0.0) || !isfinite(opt->l2))
	{
		snprintf(res->reason, LOGREG_REASON_LEN,
				 "l2 must be a finite number >= 0, not %g", opt->l2);
		return LOGREG_BAD_INPUT;
	}
	if (opt->max_iter < 1 || opt->max_iter > LOGREG_MAX_ITER_LIMIT)
	{
		snprintf(res->reason, LOGREG_REASON_LEN,
				 "max_iter must be between 1 and %d, not %d",
				 LOGREG_MAX_ITER_LIMIT, opt->max_iter);
		return LOGREG_BAD_INPUT;
	}
	if (mom->n_pos == 0 || mom->n_pos == mom->n)
	{
		snprintf(res->reason, LOGREG_REASON_LEN,
				 mom->n == 0 ? "there are no rows" :
				 mom->n_pos == 0 ? "every label is false: both classes are needed, since the unpenalized intercept has no finite optimum with one class" :
				 "every label is true: both classes are needed, since the unpenalized intercept has no finite optimum with one class");
		return LOGREG_SINGLE_CLASS;
	}

	fit->p = p;
	fit->l2 = opt->l2;
	fit->na = 1;
	for (int j = 0; j < p; j++)
	{
		double		sd;
		int			k;

		if (!isfinite(mom->mean[j]) || !isfinite(mom->m2[j]))
		{
			res->bad_feature = j;
			snprintf(res->reason, LOGREG_REASON_LEN,
					 "the spread of feature %d overflows a double: its values are too large", j + 1);
			return LOGREG_OVERFLOW;
		}
		if (mom->min[j] == mom->max[j])
		{
			res->n_constant++;
			continue;
		}
		sd = sqrt(mom->m2[j] / (double) mom->n);
		k = fit->na - 1;
		fit->idx[k] = j;
		fit->mean[k] = mom->mean[j];
		fit->inv_sd[k] = 1.0 / sd;
		fit->pw[k] = opt->l2 * fit->inv_sd[k] * fit->inv_sd[k];
		if (!(sd > 0.0) || !isfinite(fit->inv_sd[k]) || !isfinite(fit->pw[k]))
		{
			res->bad_feature = j;
			snprintf(res->reason, LOGREG_REASON_LEN,
					 "feature %d has a spread too small to standardize (sd %g)", j + 1, sd);
			return LOGREG_OVERFLOW;
		}
		fit->na++;
	}
	return LOGREG_OK;
}

/* Maps the standardized coefficients back to the caller's scale. */
static void
fit_unscale(const Fit *fit, const double *v, double *coef)
{
	double		b = v[0];

	for (int j = 0; j <= fit->p; j++)
		coef[j] = 0.0;
	for (int k = 1; k < fit->na; k++)
	{
		double		w = v[k] * fit->inv_sd[k - 1];

		coef[fit->idx[k - 1] + 1] = w;
		b -= w * fit->mean[k - 1];
	}
	coef[0] = b;
}

/*
 * Moves to the coordinates of the last pass's weighted moments: each active
 * feature centred at its mean and scaled by its SD under the IRLS weights
 * p (1 - p), re-expressing the point v and the direction dir exactly.  The
 * intercept column is then orthogonal to the features in the Hessian's inner
 * product, so no cancellation hides the features' information when a few
 * rows (outliers the fit has already explained) dominate the plain mean and
 * SD.  A feature keeps its coordinates when its weighted spread is zero or
 * its penalty weight would overflow.
 */
static void
fit_recenter(Fit *fit, double *v, double *dir)
{
	if (!(fit->wsum > 0.0))
		return;
	for (int k = 1; k < fit->na; k++)
	{
		double		m = fit->wmean[k - 1],
					sd = sqrt(fit->wm2[k - 1] / fit->wsum),
					inv = 1.0 / sd,
					pw = fit->l2 * inv * inv,
					old_inv = fit->inv_sd[k - 1],
					shift = m - fit->mean[k - 1],
					w = v[k] * old_inv,
					dw = dir[k] * old_inv;

		if (!(sd > 0.0) || !isfinite(m) || !isfinite(inv) || !isfinite(pw))
			continue;
		/* z is unchanged: v0 + v u = v0' + v' u' with u' = (x - m) / sd. */
		v[0] += w * shift;
		dir[0] += dw * shift;
		v[k] = w * sd;
		dir[k] = dw * sd;
		fit->mean[k - 1] = m;
		fit->inv_sd[k - 1] = inv;
		fit->pw[k - 1] = pw;
	}
}

/*
 * How far a step moves the fit: a bound on the change of any row's linear
 * predictor, |d0| + sum_k |d_k| max_i |u_ik|, from the features' extremes.
 * Unlike the step's components, it means the same in any coordinates.
 */
static double
fit_step_size(const Fit *fit, const double *d)
{
	double		size = fabs(d[0]);

	for (int k = 1; k < fit->na; k++)
	{
		int			j = fit->idx[k - 1];
		double		m = fit->mean[k - 1],
					umax = fmax(fabs(fit->mom->max[j] - m), fabs(fit->mom->min[j] - m)) * fit->inv_sd[k - 1];

		size += fabs(d[k]) * umax;
	}
	return size;
}

/* The fit converged at fit->v: the coefficients on the caller's scale. */
static LogRegStatus
fit_done(const Fit *fit, double *coef, LogRegResult *res)
{
	fit_unscale(fit, fit->v, coef);
	res->status = LOGREG_OK;
	return LOGREG_OK;
}

/* Sets the result's status and returns it. */
static LogRegStatus
fit_fail(LogRegResult *res, LogRegStatus status)
{
	res->status = status;
	return status;
}

/*
 * The fit: setup, one pass at the intercept-only optimum, then Newton steps
 * with backtracking until a stopping rule holds or a failure is certain.
 */
LogRegStatus
logreg_fit(const LogRegSource *src, const LogRegMoments *mom,
		   const LogRegOptions *opt, void *work, double *coef, LogRegResult *res)
{
	Fit			fit;
	PassOut		pass;
	LogRegStatus st;
	int			small = 0;
	bool		last_full = false;

	memset(res, 0, sizeof(*res));
	res->bad_feature = -1;
	fit.src = src;
	fit.mom = mom;
	fit_layout(&fit, mom->p > 0 ? mom->p : 0, work);
	st = fit_setup(&fit, mom, opt, res);
	if (st != LOGREG_OK)
		return fit_fail(res, st);

	/* Start from the intercept-only optimum. */
	memset(fit.v, 0, sizeof(double) * fit.na);
	fit.v[0] = log((double) mom->n_pos / (double) (mom->n - mom->n_pos));
	st = fit_pass(&fit, fit.v, NULL, &pass, res);
	if (st != LOGREG_OK)
		return fit_fail(res, st);
	res->last_step = HUGE_VAL;

	for (;;)
	{
		const int	na = fit.na;
		double		f = pass.f;
		double		lam2 = 0.0,
					bound,
					slack = fabs(f) + 1.0,
					t = 1.0;
		int			piv = cholesky(fit.h, na);
		bool		flat_gradient = true;

		if (piv >= 0)
		{
			if (piv == 0)
				snprintf(res->reason, LOGREG_REASON_LEN,
						 "the Hessian is not positive definite at the intercept: every fitted probability is 0 or 1");
			else
			{
				res->bad_feature = fit.idx[piv - 1];
				snprintf(res->reason, LOGREG_REASON_LEN,
						 "the Hessian is not positive definite: feature %d is (nearly) a linear combination of the intercept and the features before it",
						 fit.idx[piv - 1] + 1);
			}
			return fit_fail(res, LOGREG_SINGULAR);
		}
		cholesky_solve_neg(fit.h, na, fit.g, fit.step);
		for (int k = 0; k < na; k++)
		{
			lam2 -= fit.g[k] * fit.step[k];
			flat_gradient &= fabs(fit.g[k]) <= LOGREG_GRAD_FLOOR * fit.gabs[k];
			/* Rounding of z_i moves row i's loss by |r_i| eps |v_k u_ik|. */
			slack += fabs(fit.v[k]) * fit.gabs[k];
		}
		slack *= 32.0 * DBL_EPSILON;
		bound = fit_step_size(&fit, fit.step);
		res->objective = f;
		if (!isfinite(bound))
		{
			snprintf(res->reason, LOGREG_REASON_LEN, "the Newton step is not finite");
			return fit_fail(res, LOGREG_NUMERIC);
		}

		/* Converged: this step (applied) or the last full one was tiny. */
		if (bound <= LOGREG_STEP_TOL)
		{
			for (int k = 0; k < na; k++)
				fit.v[k] += fit.step[k];
			res->last_step = bound;
			return fit_done(&fit, coef, res);
		}
		if (last_full && res->last_step <= LOGREG_STEP_TOL)
			return fit_done(&fit, coef, res);
		/* Converged: nothing left to resolve in double precision, twice. */
		small = (0.5 * lam2 <= slack && flat_gradient && res->last_step <= LOGREG_NOISE_STEP) ? small + 1 : 0;
		if (small >= 2)
			return fit_done(&fit, coef, res);
		if (res->iterations >= opt->max_iter)
		{
			snprintf(res->reason, LOGREG_REASON_LEN,
					 "no convergence within %d Newton iterations: the last step changed a row's linear predictor by up to %.3g (tolerance %g)%s",
					 opt->max_iter, fmin(res->last_step, bound), LOGREG_STEP_TOL,
					 fit.l2 == 0.0 ? "; the classes may be (nearly) separated" : "");
			return fit_fail(res, LOGREG_NOT_CONVERGED);
		}

		/* Backtracking line search along the Newton step, in fresh coordinates. */
		fit_recenter(&fit, fit.v, fit.step);
		for (;;)
		{
			for (int k = 0; k < na; k++)
				fit.vt[k] = fit.v[k] + t * fit.step[k];
			st = fit_pass(&fit, fit.vt, fit.step, &pass, res);
			if (st == LOGREG_SOURCE_ERROR)
				return fit_fail(res, st);
			if (st == LOGREG_OK && pass.f <= f - LOGREG_ARMIJO * t * lam2 + slack)
				break;
			t *= 0.5;
			if (t < LOGREG_MIN_STEP_FRACTION)
			{
				/* No decrease left to find: the optimum, if the gradient is rounding. */
				if (flat_gradient && 0.5 * lam2 <= slack)
					return fit_done(&fit, coef, res);
				snprintf(res->reason, LOGREG_REASON_LEN,
						 "the line search found no decrease of the objective along the Newton step");
				return fit_fail(res, LOGREG_NUMERIC);
			}
		}
		memcpy(fit.v, fit.vt, sizeof(double) * na);
		res->iterations++;
		res->last_step = t * pass.dz_max;
		last_full = t == 1.0;

		if (fit.l2 == 0.0 && pass.violations == 0 && pass.strict > 0 &&
			res->last_step > LOGREG_NOISE_STEP)
		{
			snprintf(res->reason, LOGREG_REASON_LEN,
					 "the classes are separated: a combination of the features puts every row with label true on one side and every row with label false on the other (or on the boundary), so the maximum-likelihood coefficients are infinite");
			return fit_fail(res, LOGREG_SEPARATED);
		}
	}
}
