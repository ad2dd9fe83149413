/*
 * logreg_sql.h
 *		What the SQL functions of logistic regression share: reading array
 *		arguments and turning a kernel failure into an error with a SQLSTATE.
 */
#ifndef WIB_ANALYTICS_LOGREG_SQL_H
#define WIB_ANALYTICS_LOGREG_SQL_H

#include "utils/array.h"

#include "analytics/logreg.h"

/*
 * The elements of a float8[] argument without NULLs, as a pointer into the
 * array, and their count; 22023 naming field for a NULL element or more than
 * max_ndim dimensions.
 */
extern const double *logreg_sql_float8s(ArrayType *arr, const char *field, int max_ndim,
										int *count);

/* The same for a boolean[] argument (one-dimensional). */
extern const bool *logreg_sql_bools(ArrayType *arr, const char *field, int *count);

/* Checks l2 and max_iter, raising 22023 naming the argument. */
extern void logreg_sql_check_options(double l2, int max_iter);

/* Raises the error a failed fit deserves (see the SQLSTATEs in logreg_sql.c). */
extern void logreg_sql_report(const LogRegResult *res, const LogRegOptions *opt) pg_attribute_noreturn();

/* The intercept and p coefficients as a float8[]. */
extern ArrayType *logreg_sql_result(const double *coef, int p);

#endif							/* WIB_ANALYTICS_LOGREG_SQL_H */
