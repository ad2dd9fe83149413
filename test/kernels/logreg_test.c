/*
 * logreg_test.c
 *		The logistic regression kernel against closed-form maximum-likelihood
 *		fits, the penalized score equations, equivariance under rescaling,
 *		every failure status, and the metrics on hand-checked values.
 *
 * Build: cc -std=gnu11 -I src -o logreg_test test/kernels/logreg_test.c \
 *		src/analytics/logreg.c src/analytics/logreg_rows.c src/analytics/metrics.c -lm
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/logreg.h"
#include "analytics/metrics.h"

#define MAXN	4000
#define MAXP	8

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* A data set under test and the fit's buffers. */
static double xs[MAXN * MAXP];
static double xs2[MAXN * MAXP];
static bool ys[MAXN];
static double mom_buf[4 * MAXP];
static double *work;

static LogRegStatus
fit(const double *x, const bool *y, int n, int p, double l2, int max_iter,
	double *coef, LogRegResult *res)
{
	LogRegOptions opt = {l2, max_iter};

	return logreg_fit_array(x, y, n, p, &opt, mom_buf, work, coef, res);
}

/* splitmix64: a small deterministic generator for the data sets. */
static uint64_t rng_state;

static double
uniform(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((double) (z >> 11) + 0.5) / 9007199254740992.0;
}

static double
normal(void)
{
	return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

/* n rows of p features, N(0,1) times scale[j] plus shift[j], labels from a logit model. */
static void
make_data(int n, int p, const double *scale, const double *shift, uint64_t seed)
{
	static const double beta[MAXP] = {0.8, -1.2, 0.5, 0.0, 2.0, -0.3, 0.7, 1.1};

	rng_state = seed;
	for (int i = 0; i < n; i++)
	{
		double		z = -0.4;

		for (int j = 0; j < p; j++)
		{
			double		u = normal();

			xs[i * p + j] = u * scale[j] + shift[j];
			z += beta[j] * u;
		}
		ys[i] = uniform() < logreg_sigmoid(z);
	}
}

/* Largest |gradient component| of the penalized objective at coef. */
static double
max_gradient(const double *x, const bool *y, int n, int p, const double *coef, double l2)
{
	LogRegArraySource as;
	LogRegSource src;
	double		g[MAXP + 1];
	double		m = 0.0;

	logreg_array_source(&as, x, y, n, p, &src);
	if (!logreg_gradient(&src, p, coef, NULL, l2, g, NULL))
		return HUGE_VAL;
	for (int j = 0; j <= p; j++)
		m = fmax(m, fabs(g[j]));
	return m;
}

static bool
close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

/* A row source that makes up rows as it goes (here: the global data set). */
typedef struct GenSource
{
	int			n;
	int			p;
	int			pos;
	int			fail_at;		/* -1, or the row at which next() fails */
	double		row[MAXP];
} GenSource;

static bool
gen_rewind(void *arg)
{
	((GenSource *) arg)->pos = 0;
	return true;
}

static int
gen_next(void *arg, const double **x, bool *y)
{
	GenSource  *g = arg;

	if (g->pos == g->fail_at)
		return -1;
	if (g->pos >= g->n)
		return 0;
	memcpy(g->row, xs + g->pos * g->p, sizeof(double) * g->p);
	*x = g->row;
	*y = ys[g->pos];
	g->pos++;
	return 1;
}

static void
test_closed_forms(void)
{
	double		coef[MAXP + 1];
	LogRegResult res;
	int			n = 0;

	/* One binary feature: x = 0 has 3 true / 7 false, x = 1 has 6 true / 2 false. */
	for (int i = 0; i < 18; i++)
	{
		xs[n] = i < 10 ? 0.0 : 1.0;
		ys[n] = i < 10 ? (i < 3) : (i < 16);
		n++;
	}
	check(fit(xs, ys, n, 1, 0.0, 50, coef, &res) == LOGREG_OK &&
		  close_to(coef[0], log(3.0 / 7.0), 1e-9) &&
		  close_to(coef[1], log(6.0 / 2.0) - log(3.0 / 7.0), 1e-9),
		  "one binary feature: intercept = logit(p0), coefficient = logit(p1) - logit(p0)");

	/*
	 * Two binary features whose cell proportions follow an additive logit
	 * (1/3, 2/3, 2/3, 8/9): the MLE is b = -log 2, w1 = w2 = log 4.
	 */
	{
		static const int cells[4][4] = {{0, 0, 1, 2}, {1, 0, 2, 1}, {0, 1, 2, 1}, {1, 1, 8, 1}};

		n = 0;
		for (int c = 0; c < 4; c++)
			for (int k = 0; k < cells[c][2] + cells[c][3]; k++)
			{
				xs[2 * n] = cells[c][0];
				xs[2 * n + 1] = cells[c][1];
				ys[n] = k < cells[c][2];
				n++;
			}
		check(fit(xs, ys, n, 2, 0.0, 50, coef, &res) == LOGREG_OK &&
			  close_to(coef[0], -log(2.0), 1e-9) &&
			  close_to(coef[1], log(4.0), 1e-9) && close_to(coef[2], log(4.0), 1e-9),
			  "two binary features without interaction: b = -log 2, w1 = w2 = log 4");
	}
}

static void
test_equivariance(void)
{
	static const double unit[MAXP] = {1, 1, 1, 1, 1, 1, 1, 1};
	static const double zero[MAXP] = {0};
	static const double a[MAXP] = {1e-3, 250.0, -4.0, 1e4, 0.5};
	static const double c[MAXP] = {1e6, -30.0, 7.0, 1e9, -0.25};
	double		c0[MAXP + 1],
				c1[MAXP + 1];
	LogRegResult r0,
				r1;
	const int	n = 3000,
				p = 5;
	bool		ok;

	make_data(n, p, unit, zero, 42);
	memcpy(xs2, xs, sizeof(double) * n * p);
	ok = fit(xs2, ys, n, p, 0.0, 50, c0, &r0) == LOGREG_OK;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < p; j++)
			xs[i * p + j] = a[j] * xs2[i * p + j] + c[j];
	ok &= fit(xs, ys, n, p, 0.0, 50, c1, &r1) == LOGREG_OK;
	{
		double		b = c0[0];

		for (int j = 0; j < p; j++)
		{
			ok &= close_to(c1[j + 1] * a[j], c0[j + 1], 1e-9);
			b -= c0[j + 1] / a[j] * c[j];
		}
		ok &= close_to(c1[0], b, 1e-9 * (1.0 + fabs(b)));
	}
	check(ok, "l2 = 0: rescaling and shifting features (1e-3 .. 1e4, offsets to 1e9) maps the coefficients exactly");

	/* With a penalty: shifting changes nothing but the intercept; scaling all by k needs l2 * k^2. */
	ok = fit(xs2, ys, n, p, 3.0, 50, c0, &r0) == LOGREG_OK;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < p; j++)
			xs[i * p + j] = 10.0 * xs2[i * p + j] + c[j];
	ok &= fit(xs, ys, n, p, 300.0, 50, c1, &r1) == LOGREG_OK;
	{
		double		b = c0[0];

		for (int j = 0; j < p; j++)
		{
			ok &= close_to(10.0 * c1[j + 1], c0[j + 1], 1e-9);
			b -= c0[j + 1] / 10.0 * c[j];
		}
		ok &= close_to(c1[0], b, 1e-8 * (1.0 + fabs(b)));
	}
	check(ok, "l2 > 0: shifted features, and features scaled by k with l2 scaled by k^2, give the same model");
}

static void
test_penalized_optimum(void)
{
	static const double scale[MAXP] = {1.0, 0.01, 100.0, 3.0, 1.0};
	static const double shift[MAXP] = {0.0, 5.0, -200.0, 1.0, 0.0};
	static const double l2s[] = {1e-4, 0.1, 1.0, 10.0, 1000.0};
	double		coef[MAXP + 1];
	LogRegResult res;
	const int	n = 2000,
				p = 5;
	bool		ok = true;
	double		worst = 0.0;

	/* Standardized features, so that the gradient's size is in natural units. */
	make_data(n, p, (const double[MAXP]) {1, 1, 1, 1, 1}, (const double[MAXP]) {0}, 7);
	for (size_t k = 0; k < sizeof(l2s) / sizeof(l2s[0]); k++)
	{
		ok &= fit(xs, ys, n, p, l2s[k], 50, coef, &res) == LOGREG_OK;
		worst = fmax(worst, max_gradient(xs, ys, n, p, coef, l2s[k]));
	}
	check(ok && worst <= 1e-9, "l2 in 1e-4 .. 1000: the penalized score equations hold to 1e-9");

	/* Mixed scales: every gradient component relative to its terms. */
	make_data(n, p, scale, shift, 11);
	ok = fit(xs, ys, n, p, 1.0, 50, coef, &res) == LOGREG_OK;
	{
		LogRegArraySource as;
		LogRegSource src;
		double		g[MAXP + 1],
					s[MAXP + 1];

		logreg_array_source(&as, xs, ys, n, p, &src);
		ok &= logreg_gradient(&src, p, coef, NULL, 1.0, g, s);
		for (int j = 0; j <= p; j++)
			ok &= fabs(g[j]) <= 1e-12 * s[j];
	}
	check(ok, "features of scales 0.01 .. 100 with offsets: gradient zero to 1e-12 of its terms");

	/* The same rows from a generator source: the same coefficients, bit for bit. */
	{
		double		coef2[MAXP + 1];
		LogRegMoments mom;
		GenSource	gs = {n, p, 0, -1, {0}};
		LogRegSource src = {&gs, gen_rewind, gen_next};
		LogRegOptions opt = {1.0, 50};
		LogRegResult res2;
		double		mb[4 * MAXP];

		logreg_moments_init(&mom, p, mb);
		for (int i = 0; i < n; i++)
			logreg_moments_add(&mom, xs + i * p, ys[i]);
		ok = logreg_fit(&src, &mom, &opt, work, coef2, &res2) == LOGREG_OK &&
			memcmp(coef, coef2, sizeof(double) * (p + 1)) == 0 &&
			res2.passes == res.passes;
		check(ok, "a callback row source gives the same fit as the array");

		gs.fail_at = 100;
		check(logreg_fit(&src, &mom, &opt, work, coef2, &res2) == LOGREG_SOURCE_ERROR,
			  "a failing row source stops the fit with a source error");
	}
}

static void
test_failures(void)
{
	double		coef[MAXP + 1];
	LogRegResult res;
	bool		ok;

	/* Complete separation on one feature. */
	for (int i = 0; i < 20; i++)
	{
		xs[i] = i - 9.5;
		ys[i] = i >= 10;
	}
	check(fit(xs, ys, 20, 1, 0.0, 50, coef, &res) == LOGREG_SEPARATED && res.iterations < 50,
		  "complete separation with l2 = 0 is detected before max_iter");
	/* Quasi-complete: rows at x = 0 carry both labels, the rest are separated. */
	for (int i = 0; i < 20; i++)
	{
		xs[i] = i < 8 ? i - 8.0 : (i < 12 ? 0.0 : i - 11.0);
		ys[i] = i < 8 ? false : (i < 12 ? (i % 2 == 0) : true);
	}
	check(fit(xs, ys, 20, 1, 0.0, 50, coef, &res) == LOGREG_SEPARATED,
		  "quasi-complete separation with l2 = 0 is detected");
	{
		/* The boundary rows at the feature's mean, where u = 0: x = 1 2 2 2 3. */
		const double xb[] = {1, 2, 2, 2, 3};
		const bool	yb[] = {0, 0, 1, 0, 1};

		check(fit(xb, yb, 5, 1, 0.0, 50, coef, &res) == LOGREG_SEPARATED,
			  "quasi-complete separation with the boundary rows at the mean is detected");
	}
	ok = fit(xs, ys, 20, 1, 0.5, 50, coef, &res) == LOGREG_OK &&
		max_gradient(xs, ys, 20, 1, coef, 0.5) <= 1e-9;
	check(ok, "the same separated data with l2 > 0 have a finite optimum");

	/* Separation in two dimensions along x1 + x2 = 0, invisible on each axis. */
	rng_state = 5;
	for (int i = 0; i < 200; i++)
	{
		double		u = normal(),
					v = normal();

		xs[2 * i] = u;
		xs[2 * i + 1] = v;
		ys[i] = u + v > 0;
	}
	check(fit(xs, ys, 200, 2, 0.0, 50, coef, &res) == LOGREG_SEPARATED,
		  "separation along a combination of two features is detected");

	for (int i = 0; i < 20; i++)
	{
		xs[i] = i;
		ys[i] = true;
	}
	ok = fit(xs, ys, 20, 1, 0.0, 50, coef, &res) == LOGREG_SINGLE_CLASS;
	ok &= fit(xs, ys, 20, 1, 1.0, 50, coef, &res) == LOGREG_SINGLE_CLASS;
	ok &= fit(xs, ys, 0, 1, 1.0, 50, coef, &res) == LOGREG_SINGLE_CLASS;
	check(ok, "a single class (or no rows) is refused with or without a penalty");

	make_data(100, 2, (const double[MAXP]) {1, 1}, (const double[MAXP]) {0}, 3);
	ok = fit(xs, ys, 100, 0, 1.0, 50, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, LOGREG_MAX_FEATURES + 1, 1.0, 50, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, 2, -1.0, 50, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, 2, NAN, 50, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, 2, INFINITY, 50, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, 2, 1.0, 0, coef, &res) == LOGREG_BAD_INPUT;
	ok &= fit(xs, ys, 100, 2, 1.0, LOGREG_MAX_ITER_LIMIT + 1, coef, &res) == LOGREG_BAD_INPUT;
	check(ok, "bad shapes and options are refused: p = 0, p too large, l2 < 0, NaN or infinite, max_iter out of range");

	xs[2 * 37 + 1] = NAN;
	ok = fit(xs, ys, 100, 2, 1.0, 50, coef, &res) == LOGREG_BAD_INPUT && res.bad_feature == 1 &&
		strstr(res.reason, "row 38") != NULL;
	xs[2 * 37 + 1] = -INFINITY;
	ok &= fit(xs, ys, 100, 2, 1.0, 50, coef, &res) == LOGREG_BAD_INPUT;
	check(ok, "NaN and infinite features are refused, naming the feature and the row");

	/* Values whose spread overflows a double. */
	make_data(100, 2, (const double[MAXP]) {1, 1}, (const double[MAXP]) {0}, 3);
	for (int i = 0; i < 100; i++)
		xs[2 * i] = (i % 2 ? 1.5e308 : -1.5e308);
	check(fit(xs, ys, 100, 2, 1.0, 50, coef, &res) == LOGREG_OVERFLOW && res.bad_feature == 0,
		  "features too large to standardize are refused as overflow");

	/* Collinear features: x2 = 2 x1 + 1. */
	make_data(300, 2, (const double[MAXP]) {1, 1}, (const double[MAXP]) {0}, 9);
	for (int i = 0; i < 300; i++)
		xs[2 * i + 1] = 2.0 * xs[2 * i] + 1.0;
	ok = fit(xs, ys, 300, 2, 0.0, 50, coef, &res) == LOGREG_SINGULAR && res.bad_feature == 1;
	ok &= fit(xs, ys, 300, 2, 1.0, 50, coef, &res) == LOGREG_OK &&
		max_gradient(xs, ys, 300, 2, coef, 1.0) <= 1e-9;
	check(ok, "collinear features: singular with l2 = 0 (naming the feature), a unique optimum with l2 > 0");

	/*
	 * Nearly collinear but not singular (x2 = x1 + 1e-5 noise, correlation
	 * 1 - 5e-11): the fit stops at the rounding floor, at the optimum.
	 */
	rng_state = 21;
	for (int i = 0; i < MAXN; i++)
	{
		double		u = normal();

		xs[2 * i] = u;
		xs[2 * i + 1] = u + 1e-5 * normal();
		ys[i] = uniform() < logreg_sigmoid(0.2 + u);
	}
	ok = fit(xs, ys, MAXN, 2, 0.0, 50, coef, &res) == LOGREG_OK;
	{
		LogRegArraySource as;
		LogRegSource src;
		double		g[3],
					s[3];

		logreg_array_source(&as, xs, ys, MAXN, 2, &src);
		ok &= logreg_gradient(&src, 2, coef, NULL, 0.0, g, s);
		for (int j = 0; j <= 2; j++)
			ok &= fabs(g[j]) <= 1e-11 * s[j];
	}
	check(ok, "nearly collinear features (correlation 1 - 5e-11) converge to the optimum");

	make_data(1000, 3, (const double[MAXP]) {1, 1, 1}, (const double[MAXP]) {0}, 13);
	check(fit(xs, ys, 1000, 3, 1.0, 1, coef, &res) == LOGREG_NOT_CONVERGED && res.iterations == 1,
		  "max_iter reached is reported as not converged");
}

/* Centered gradient of the fit relative to its terms: the worst component. */
static double
relative_gradient(const double *x, const bool *y, int n, int p, const double *coef, double l2)
{
	LogRegArraySource as;
	LogRegSource src;
	double		center[MAXP] = {0},
				g[MAXP + 1],
				s[MAXP + 1],
				worst = 0.0;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < p; j++)
			center[j] += x[i * p + j] / n;
	logreg_array_source(&as, x, y, n, p, &src);
	if (!logreg_gradient(&src, p, coef, center, l2, g, s))
		return HUGE_VAL;
	for (int j = 0; j <= p; j++)
		worst = fmax(worst, s[j] > 0.0 ? fabs(g[j]) / s[j] : fabs(g[j]));
	return worst;
}

/* Features whose plain SD is made by one or two outliers (found by the fuzzer). */
static void
test_outliers(void)
{
	/* One row at 2^26 among values 1e-8 .. 32; l2 = 0 and the classes overlap. */
	static const double xa[16] = {1, 2, 3, 1.4202669262886047e-08, 7.4505805969238281e-09, 32, 9, 10,
	67108864, 2, 3, 2, 4, 1, 1.4901161193847656e-08, 1.4901161193847656e-08};
	static const bool ya[16] = {0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0};

	/* Two features with rows at +-2^31 that the fit drives to p = 0 or 1; l2 = 1. */
	static const double tail[15][2] = {
		{-2.9802322387695312e-08, 2}, {2.2584572434425354e-08, 3}, {2147483648, 0.125},
		{-2147483648, 0}, {0, 1.9557774066925049e-08}, {2.384185791015625e-07, 9.7788870334625244e-09},
		{1.4901161193847656e-08, 9.7788870334625244e-09}, {1.1920928955078125e-07, 1.9557774066925049e-08},
		{7.4505805969238281e-09, 9.7788870334625244e-09}, {5.9604644775390625e-08, 9.7788870334625244e-09},
		{4.76837158203125e-07, 1.9557774066925049e-08}, {4.76837158203125e-07, 9.7788870334625244e-09},
		{2.384185791015625e-07, 2147483648}, {1.9073486328125e-06, 1.1920928955078125e-07},
		{2.384185791015625e-07, 1.9557774066925049e-08}};
	static const bool tail_y[15] = {0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1};
	double		coef[MAXP + 1];
	LogRegResult res;
	int			n = 0;
	bool		ok;

	ok = fit(xa, ya, 16, 1, 0.0, 50, coef, &res) == LOGREG_OK &&
		relative_gradient(xa, ya, 16, 1, coef, 0.0) <= 1e-9;
	check(ok, "a feature whose SD is one outlier (2^26 among 1e-8 .. 32) reaches the optimum");

	xs[0] = 1;
	xs[1] = 3072;
	ys[n++] = false;
	for (int i = 0; i < 22; i++, n++)
	{
		xs[2 * n] = xs[2 * n + 1] = -2.9802322387695312e-08;
		ys[n] = false;
	}
	for (int i = 0; i < 15; i++, n++)
	{
		xs[2 * n] = tail[i][0];
		xs[2 * n + 1] = tail[i][1];
		ys[n] = tail_y[i];
	}
	ok = fit(xs, ys, n, 2, 1.0, 100, coef, &res) == LOGREG_OK &&
		relative_gradient(xs, ys, n, 2, coef, 1.0) <= 1e-9;
	check(ok, "outliers at +-2^31 that the fit drives to 0 or 1: no stop before the optimum");
}

static void
test_constant_column(void)
{
	double		c3[MAXP + 1],
				c2[MAXP + 1];
	LogRegResult r3,
				r2;
	const int	n = 500;
	bool		ok = true;

	for (int k = 0; k < 2; k++)
	{
		double		l2 = k == 0 ? 0.0 : 2.0;

		make_data(n, 2, (const double[MAXP]) {1, 1}, (const double[MAXP]) {0}, 17);
		memcpy(xs2, xs, sizeof(double) * n * 2);
		for (int i = 0; i < n; i++)
		{
			xs[3 * i] = xs2[2 * i];
			xs[3 * i + 1] = 42.0;
			xs[3 * i + 2] = xs2[2 * i + 1];
		}
		ok &= fit(xs, ys, n, 3, l2, 50, c3, &r3) == LOGREG_OK && r3.n_constant == 1;
		ok &= fit(xs2, ys, n, 2, l2, 50, c2, &r2) == LOGREG_OK;
		ok &= c3[2] == 0.0 && close_to(c3[0], c2[0], 1e-12) &&
			close_to(c3[1], c2[1], 1e-12) && close_to(c3[3], c2[2], 1e-12);
	}
	check(ok, "a constant column gets coefficient 0 and leaves the rest of the fit unchanged");
}

static void
test_predictions(void)
{
	const double coef[3] = {0.5, 2.0, -1.0};
	const double x[2] = {1.5, 4.0};
	bool		ok;

	ok = logreg_sigmoid(800.0) == 1.0 && logreg_sigmoid(-800.0) == 0.0 &&
		logreg_sigmoid(-800.0) >= 0.0;
	ok &= fabs(logreg_sigmoid(-700.0) / exp(-700.0) - 1.0) < 1e-12;
	ok &= fabs(logreg_sigmoid(-40.0) / (exp(-40.0) / (1.0 + exp(-40.0))) - 1.0) < 1e-14;
	ok &= logreg_sigmoid(0.0) == 0.5 && logreg_sigmoid(INFINITY) == 1.0 && logreg_sigmoid(-INFINITY) == 0.0;
	check(ok, "the logistic function is finite and accurate at |z| = 40, 700, 800 and infinity");
	check(logreg_linear(coef, x, 2) == 0.5 + 3.0 - 4.0 &&
		  fabs(logreg_sigmoid(logreg_linear(coef, x, 2)) - 1.0 / (1.0 + exp(0.5))) < 1e-15,
		  "predictions apply intercept and coefficients to the features");
}

static void
test_metrics(void)
{
	char		reason[METRICS_REASON_LEN];
	char		scratch[64 * sizeof(double) * 2];
	double		v;
	bool		ok;

	{
		const double s[] = {0.1, 0.4, 0.35, 0.8};
		const bool	y[] = {0, 0, 1, 1};

		check(metrics_roc_auc(s, y, 4, scratch, &v, reason) == METRICS_OK && v == 0.75,
			  "AUC of 0.1 0.4 0.35 0.8 against 0 0 1 1 is 0.75");
	}
	{
		const double s[] = {1, 2, 2, 3};
		const bool	y[] = {0, 0, 1, 1};
		const double s2[] = {0.5, 0.5, 0.5, 0.5};
		const bool	y2[] = {0, 1, 0, 1};
		const double s3[] = {-0.0, 0.0, 1.0, -INFINITY, INFINITY};
		const bool	y3[] = {1, 0, 1, 0, 0};

		ok = metrics_roc_auc(s, y, 4, scratch, &v, reason) == METRICS_OK && v == 0.875;
		ok &= metrics_roc_auc(s2, y2, 4, scratch, &v, reason) == METRICS_OK && v == 0.5;
		/* pairs (pos, neg): (-0, 0) tie .5; (-0, -inf) 1; (-0, inf) 0; (1, 0) 1; (1, -inf) 1; (1, inf) 0 */
		ok &= metrics_roc_auc(s3, y3, 5, scratch, &v, reason) == METRICS_OK && v == 3.5 / 6.0;
		check(ok, "AUC counts ties one half (one tie: 0.875, all tied: 0.5, -0 = 0, infinities ordered)");
	}
	{
		const double s[] = {0.1, NAN};
		const bool	y[] = {0, 1};
		const bool	y1[] = {1, 1};
		const double s1[] = {0.1, 0.2};

		ok = metrics_roc_auc(s, y, 2, scratch, &v, reason) == METRICS_BAD_VALUE;
		ok &= metrics_roc_auc(s1, y1, 2, scratch, &v, reason) == METRICS_SINGLE_CLASS;
		ok &= metrics_roc_auc(s1, y1, 0, scratch, &v, reason) == METRICS_EMPTY;
		check(ok, "AUC refuses NaN scores, a single class and no rows");
	}
	{
		const double p[] = {0.9, 0.2};
		const bool	y[] = {1, 0};
		const double pc[] = {0.0, 1.0, 1.0, 0.0};
		const bool	yc[] = {1, 1, 0, 0};
		const double bad[] = {0.5, 1.5};

		ok = metrics_log_loss(p, y, 2, &v, reason) == METRICS_OK &&
			close_to(v, (-log(0.9) - log(0.8)) / 2.0, 1e-15);
		/* Clipped to [1e-15, 1 - 1e-15]: scikit-learn's log_loss gives 17.26958809681289. */
		ok &= metrics_log_loss(pc, yc, 4, &v, reason) == METRICS_OK &&
			close_to(v, 17.26958809681289, 1e-13);
		ok &= metrics_log_loss(bad, y, 2, &v, reason) == METRICS_BAD_VALUE;
		ok &= metrics_log_loss(p, y, 0, &v, reason) == METRICS_EMPTY;
		check(ok, "log loss: hand-checked value, clipping at 1e-15, probabilities outside [0, 1] refused");
	}
	{
		const double p[] = {0.1, 0.9, 0.8, 0.3};
		const bool	y[] = {0, 1, 1, 0};
		const double bad[] = {0.1, NAN, 0.8, 0.3};

		ok = metrics_brier(p, y, 4, &v, reason) == METRICS_OK && close_to(v, 0.0375, 1e-15);
		ok &= metrics_brier(bad, y, 4, &v, reason) == METRICS_BAD_VALUE;
		check(ok, "Brier score of 0.1 0.9 0.8 0.3 against 0 1 1 0 is 0.0375; NaN refused");
	}
}

int
main(void)
{
	work = malloc(logreg_work_size(LOGREG_MAX_FEATURES + 1));
	if (!work)
		return 1;
	printf("1..30\n");
	test_closed_forms();
	test_equivariance();
	test_penalized_optimum();
	test_failures();
	test_outliers();
	test_constant_column();
	test_predictions();
	test_metrics();
	free(work);
	return failures == 0 && test_no == 30 ? 0 : 1;
}
