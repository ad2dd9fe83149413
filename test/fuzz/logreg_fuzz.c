/*
 * logreg_fuzz.c
 *		libFuzzer target for the logistic regression kernel and the metrics:
 *		arbitrary bytes make a small data set (1-4 features, up to 64 rows,
 *		values from tiny to near overflow, NaN and infinities, a penalty from
 *		0 to 1e6).  The fit either fails with a status and a reason that fit
 *		the data (bad input for a non-finite value, single class, never
 *		"separated" with a penalty) or returns finite coefficients at which
 *		the penalized gradient (about the feature means) vanishes relative
 *		to its terms, the same on a second run.  The AUC lies in [0, 1], equals the O(n^2) pair count and
 *		reverses to 1 - AUC for negated scores; log loss and Brier score stay
 *		in their ranges.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o logreg_fuzz \
 *   test/fuzz/logreg_fuzz.c src/analytics/logreg.c src/analytics/logreg_rows.c \
 *   src/analytics/metrics.c -lm
 * Run:   ./logreg_fuzz -max_total_time=60 test/fuzz/corpus/logreg
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/logreg.h"
#include "analytics/metrics.h"

#define MAX_P		4
#define MAX_ROWS	64

static const double penalties[8] = {0.0, 0.0, 1e-6, 1e-2, 0.5, 1.0, 100.0, 1e6};

/* Fails the run, saying which property broke. */
static void
fail(const char *what)
{
	fprintf(stderr, "property violated: %s\n", what);
	abort();
}

/* One feature value from two bytes: m * 2^e over a wide range, or a special value. */
static double
value_from(uint8_t m, uint8_t e)
{
	switch (e)
	{
		case 255:
			return NAN;
		case 254:
			return INFINITY;
		case 253:
			return -INFINITY;
		case 252:
			return (m & 1 ? -1.0 : 1.0) * 1.7e308;
		case 251:
			return (m & 1 ? -1.0 : 1.0) * 4.9e-324;
		default:
			return (double) (int8_t) m * ldexp(1.0, (int) (e % 64) - 32);
	}
}

/* The AUC by counting pairs, ties one half. */
static double
auc_by_pairs(const double *s, const bool *y, int n)
{
	double		num = 0.0;
	double		pos = 0.0,
				neg = 0.0;

	for (int i = 0; i < n; i++)
	{
		if (y[i])
			pos++;
		else
			neg++;
		for (int j = 0; j < n; j++)
			if (y[i] && !y[j])
				num += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
	}
	return num / (pos * neg);
}

static void
check_metrics(const double *x, const bool *y, int n, int p)
{
	double		s[MAX_ROWS],
				neg[MAX_ROWS],
				prob[MAX_ROWS];
	double		scratch[2 * MAX_ROWS];
	char		reason[METRICS_REASON_LEN];
	double		auc,
				auc_neg,
				v;
	bool		finite = true;

	for (int i = 0; i < n; i++)
	{
		s[i] = x[i * p];
		neg[i] = -s[i];
		prob[i] = isnan(s[i]) ? 0.5 : logreg_sigmoid(s[i]);
		finite &= !isnan(s[i]);
	}
	if (metrics_roc_auc(s, y, n, scratch, &auc, reason) == METRICS_OK)
	{
		if (!finite)
			fail("AUC accepted a NaN score");
		if (!(auc >= 0.0 && auc <= 1.0))
			fail("AUC outside [0, 1]");
		if (fabs(auc - auc_by_pairs(s, y, n)) > 1e-12)
			fail("AUC differs from the pair count");
		if (metrics_roc_auc(neg, y, n, scratch, &auc_neg, reason) != METRICS_OK ||
			fabs(auc + auc_neg - 1.0) > 1e-12)
			fail("AUC of negated scores is not 1 - AUC");
	}
	else if (reason[0] == '\0')
		fail("AUC failed without a reason");
	if (n > 0)
	{
		/* The largest loss of a clipped probability: 1 - (1 - 1e-15) rounds below 1e-15. */
		double		worst = fmax(-log(METRICS_LOG_LOSS_EPS), -log1p(-(1.0 - METRICS_LOG_LOSS_EPS)));

		if (metrics_log_loss(prob, y, n, &v, reason) != METRICS_OK ||
			!(v >= 0.0 && v <= worst * (1.0 + 1e-12)))
			fail("log loss outside [0, the loss of a clipped probability]");
		if (metrics_brier(prob, y, n, &v, reason) != METRICS_OK || !(v >= 0.0 && v <= 1.0))
			fail("Brier score outside [0, 1]");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static double work[2048];
	double		x[MAX_ROWS * MAX_P];
	bool		y[MAX_ROWS];
	double		mb[4 * MAX_P];
	double		coef[MAX_P + 1],
				coef2[MAX_P + 1],
				g[MAX_P + 1],
				sc[MAX_P + 1];
	LogRegOptions opt;
	LogRegResult res,
				res2;
	LogRegStatus st;
	int			p,
				n = 0;
	bool		finite = true,
				has_pos = false,
				has_neg = false;

	if (size < 2)
		return 0;
	p = 1 + data[0] % MAX_P;
	opt.l2 = penalties[(data[0] >> 2) & 7];
	opt.max_iter = 1 + data[1] % 100;
	data += 2;
	size -= 2;
	if (logreg_work_size(MAX_P) > sizeof(work))
		fail("workspace too small");

	/* Rows of p two-byte values and one label byte. */
	while (n < MAX_ROWS && size >= (size_t) (2 * p + 1))
	{
		for (int j = 0; j < p; j++)
		{
			x[n * p + j] = value_from(data[2 * j], data[2 * j + 1]);
			finite &= isfinite(x[n * p + j]);
		}
		y[n] = data[2 * p] & 1;
		has_pos |= y[n];
		has_neg |= !y[n];
		data += 2 * p + 1;
		size -= 2 * p + 1;
		n++;
	}

	st = logreg_fit_array(x, y, n, p, &opt, mb, work, coef, &res);
	if (st != res.status)
		fail("returned status differs from the result's");
	if (st != LOGREG_OK && res.reason[0] == '\0')
		fail("failure without a reason");
	if (!finite && st != LOGREG_BAD_INPUT)
		fail("a non-finite feature was not refused");
	if (finite && (!has_pos || !has_neg) && st != LOGREG_SINGLE_CLASS)
		fail("a single class was not refused");
	if (opt.l2 > 0.0 && st == LOGREG_SEPARATED)
		fail("separation reported with a penalty");
	if (st == LOGREG_OK)
	{
		LogRegArraySource as;
		LogRegSource src;
		double		center[MAX_P] = {0};

		for (int j = 0; j <= p; j++)
			if (!isfinite(coef[j]))
				fail("non-finite coefficient");
		/* Centered at the means, so that large offsets do not swamp the check. */
		for (int i = 0; i < n; i++)
			for (int j = 0; j < p; j++)
				center[j] += x[i * p + j] / n;
		logreg_array_source(&as, x, y, n, p, &src);
		if (!logreg_gradient(&src, p, coef, center, opt.l2, g, sc))
			fail("gradient source failed");
		for (int j = 0; j <= p; j++)
			if (!(fabs(g[j]) <= 1e-6 * sc[j] + 1e-300))
			{
				fprintf(stderr, "p=%d n=%d l2=%g j=%d g=%g scale=%g iterations=%d last_step=%g\n",
						p, n, opt.l2, j, g[j], sc[j], res.iterations, res.last_step);
				fail("penalized gradient not zero at the returned coefficients");
			}
		if (logreg_fit_array(x, y, n, p, &opt, mb, work, coef2, &res2) != LOGREG_OK ||
			memcmp(coef, coef2, sizeof(double) * (p + 1)) != 0)
			fail("a second fit differs");
	}
	check_metrics(x, y, n, p);
	return 0;
}
