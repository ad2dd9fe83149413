/*
 * logreg.h
 *		Logistic regression by Newton's method (IRLS) with an L2 penalty.
 *
 * The fit minimizes, over the intercept b and the coefficients w (original
 * feature scale),
 *
 *		f(b, w) = sum_i [ log(1 + exp(z_i)) - y_i z_i ] + (l2 / 2) ||w||^2,
 *		z_i = b + x_i . w,
 *
 * the intercept not penalized.  That is scikit-learn's LogisticRegression
 * objective C * sum(log-loss) + ||w||^2 / 2 divided by C: l2 = 1 / C.  With
 * l2 = 0 it is the plain maximum-likelihood fit.
 *
 * Features are standardized internally (mean 0, population sd 1; after the
 * first step, mean and sd weighted by the current fit's p (1 - p), which
 * keeps the Newton system well conditioned when a few outliers dominate the
 * plain sd) and the penalty is carried over exactly (l2 / sd_j^2 on the
 * standardized coefficient), so standardization changes the conditioning,
 * never the objective: the result is the optimum of f above on the caller's
 * scale.
 * A constant column (every value equal) is left out of the system and gets
 * coefficient 0; with l2 > 0 that is the optimum, with l2 = 0 the intercept
 * absorbs the column, which has no effect of its own to estimate.
 *
 * Rows are read through LogRegSource, a pair of callbacks, so the same
 * kernel trains from memory, from a temporary file or from a generator;
 * every Newton iteration is one sequential pass.  Per-feature moments come
 * from a first pass (logreg_moments_add), which a caller streaming the rows
 * once (an aggregate) accumulates as it goes.
 *
 * Backend-free: no PostgreSQL headers, no allocation (the caller provides
 * logreg_work_size() bytes), never raises.  Holding no resource of its own,
 * the kernel may be left by a longjmp from a callback (a query cancel).
 */
#ifndef WIB_ANALYTICS_LOGREG_H
#define WIB_ANALYTICS_LOGREG_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most features a fit accepts (the Newton system is (p+1)^2 doubles). */
#define LOGREG_MAX_FEATURES		1000
/* Most Newton iterations a caller may ask for. */
#define LOGREG_MAX_ITER_LIMIT	10000
/* Converged when the Newton step changes no row's linear predictor by more than this. */
#define LOGREG_STEP_TOL			1e-10
#define LOGREG_REASON_LEN		256

typedef enum LogRegStatus
{
	LOGREG_OK = 0,
	LOGREG_BAD_INPUT,			/* shape, range, NaN or infinite value */
	LOGREG_SINGLE_CLASS,		/* every label equal (or no rows) */
	LOGREG_OVERFLOW,			/* a feature's spread overflows a double */
	LOGREG_SEPARATED,			/* l2 = 0 and the classes are separable */
	LOGREG_SINGULAR,			/* Hessian not positive definite (collinear) */
	LOGREG_NOT_CONVERGED,		/* max_iter reached */
	LOGREG_NUMERIC,				/* non-finite objective, failed line search */
	LOGREG_SOURCE_ERROR			/* the row source failed */
} LogRegStatus;

/*
 * Where the rows come from.  rewind() goes back to the first row (false on
 * failure); next() sets *x to the row's p features and *y to its label and
 * returns 1, or returns 0 at the end, -1 on failure.  *x must stay valid
 * until the following call.
 */
typedef struct LogRegSource
{
	void	   *arg;
	bool		(*rewind) (void *arg);
	int			(*next) (void *arg, const double **x, bool *y);
} LogRegSource;

/* Running per-feature moments (Welford) and extremes; arrays in caller memory. */
typedef struct LogRegMoments
{
	int			p;
	int64_t		n;
	int64_t		n_pos;
	double	   *mean;
	double	   *m2;				/* sum of squared deviations from the mean */
	double	   *min;
	double	   *max;
} LogRegMoments;

typedef struct LogRegOptions
{
	double		l2;				/* >= 0, finite */
	int			max_iter;		/* 1 .. LOGREG_MAX_ITER_LIMIT */
} LogRegOptions;

typedef struct LogRegResult
{
	LogRegStatus status;
	int			iterations;		/* Newton steps taken */
	int			passes;			/* passes over the rows */
	int			n_constant;		/* constant columns given coefficient 0 */
	int			bad_feature;	/* 0-based feature a failure is about, or -1 */
	double		objective;		/* f at the returned coefficients */
	double		last_step;		/* bound on the last Newton step's change of any z_i */
	char		reason[LOGREG_REASON_LEN];
} LogRegResult;

/* An in-memory data set: n rows of p features, row-major, and n labels. */
typedef struct LogRegArraySource
{
	const double *x;
	const bool *y;
	int64_t		n;
	int			p;
	int64_t		pos;
} LogRegArraySource;

extern const char *logreg_status_name(LogRegStatus status);

/* Bytes of the moments' arrays for p features, and their initialization. */
extern size_t logreg_moments_size(int p);
extern void logreg_moments_init(LogRegMoments *m, int p, void *buf);

/*
 * Adds one row to the moments.  Returns -1 when every feature is finite,
 * else the index of the first that is not (the row is then not added).
 */
extern int	logreg_moments_add(LogRegMoments *m, const double *x, bool y);

/* Bytes of workspace logreg_fit needs for p features. */
extern size_t logreg_work_size(int p);

/*
 * Fits the model to the rows of src, whose moments are mom (the same rows),
 * writing the intercept and p coefficients to coef[0..p].  work holds
 * logreg_work_size(p) bytes aligned for doubles.  Returns res->status;
 * coef is written only on LOGREG_OK.
 */
extern LogRegStatus logreg_fit(const LogRegSource *src, const LogRegMoments *mom,
							   const LogRegOptions *opt, void *work,
							   double *coef, LogRegResult *res);

/* One call for an in-memory data set: checks values, moments, then the fit. */
extern LogRegStatus logreg_fit_array(const double *x, const bool *y, int64_t n, int p,
									 const LogRegOptions *opt, void *moments_buf,
									 void *work, double *coef, LogRegResult *res);

/* A LogRegSource reading an in-memory data set. */
extern void logreg_array_source(LogRegArraySource *as, const double *x, const bool *y,
								int64_t n, int p, LogRegSource *src);

/* The logistic function 1 / (1 + exp(-z)), accurate and finite for any z. */
extern double logreg_sigmoid(double z);

/* The linear predictor coef[0] + x . coef[1..p]. */
extern double logreg_linear(const double *coef, const double *x, int p);

/*
 * The gradient of f (above) at coef, for checking an optimum: grad[0..p].
 * With center (p values, e.g. the feature means) not NULL, it is taken in
 * the coordinates where the intercept is the log-odds at center and the
 * features are x - center: zero at the same point, but free of the rounding
 * a large offset multiplies into the raw coordinates.  scale[0..p], when
 * not NULL, receives the sum of the absolute values of each component's
 * terms, the yardstick of its rounding.  Returns false when the source fails.
 */
extern bool logreg_gradient(const LogRegSource *src, int p, const double *coef,
							const double *center, double l2, double *grad, double *scale);

/* Adds a to the compensated sum (s, c): Neumaier's variant of Kahan's. */
static inline void
logreg_sum_add(double *s, double *c, double a)
{
	double		t = *s + a;

	if (fabs(*s) >= fabs(a))
		*c += (*s - t) + a;
	else
		*c += (a - t) + *s;
	*s = t;
}

#endif							/* WIB_ANALYTICS_LOGREG_H */
