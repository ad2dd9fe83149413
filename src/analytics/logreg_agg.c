/*
 * logreg_agg.c
 *		wib.logreg_fit_agg(features, label [, l2 [, max_iter]]): logistic
 *		regression over a query's rows, read once, in memory bounded by the
 *		feature count.
 *
 * The transition function appends each row in binary (p doubles, one label
 * byte) to a temporary file (BufFile: an 8 kB buffer, spread over 1 GB
 * segments under temp_tablespaces, counted against temp_file_limit) and adds
 * it to the per-feature moments the standardization needs.  The final
 * function runs the Newton passes by reading that file sequentially, so
 * memory is O(p^2) plus the buffer whatever the row count; the result is the
 * one wib.logreg_fit gives for the same rows in the same order.
 *
 * The file belongs to the resource owner current at the first row, so an
 * error or cancel removes it with the transaction; otherwise the callback
 * registered with the aggregate closes it when the group's state is
 * released.  That callback exists only for plain aggregation (not for window
 * frames), hence the refusal as a window function.  No combine function: the
 * rows of one group always go through one process (PARALLEL RESTRICTED).
 */
#include "postgres.h"

#include <math.h>

#include "commands/tablespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/buffile.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "analytics/logreg.h"
#include "analytics/logreg_sql.h"

/* The state of one group: the row file, its moments and the options. */
typedef struct LogRegAggState
{
	BufFile    *file;
	int			p;
	LogRegOptions opt;
	LogRegMoments mom;
	size_t		row_size;		/* 8 p + 1 bytes */
	char	   *row;			/* one row, aligned for doubles */
	bool		at_end;			/* the file position is where the next row goes */
	int			end_fileno;
	off_t		end_offset;
	int64		rows_read;		/* by the current pass of the final function */
} LogRegAggState;

/* Closes the row file when the aggregate's state is released. */
static void
logreg_agg_shutdown(Datum arg)
{
	LogRegAggState *st = (LogRegAggState *) DatumGetPointer(arg);

	if (st->file)
		BufFileClose(st->file);
	st->file = NULL;
}

/* Raises 22023 "invalid <field>" for a NULL aggregate argument. */
static void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *field, int64 row)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s is NULL in row %lld; NULL is not allowed.", field, (long long) row)));
}

/* The first row: checks the options, creates the state and its file. */
static LogRegAggState *
logreg_agg_start(FunctionCallInfo fcinfo, MemoryContext aggctx, int p, double l2, int max_iter)
{
	MemoryContext old;
	LogRegAggState *st;

	if (p < 1 || p > LOGREG_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid features"),
				 errdetail("features must have between 1 and %d elements, not %d.",
						   LOGREG_MAX_FEATURES, p)));
	logreg_sql_check_options(l2, max_iter);

	old = MemoryContextSwitchTo(aggctx);
	st = palloc0(sizeof(LogRegAggState));
	st->p = p;
	st->opt.l2 = l2;
	st->opt.max_iter = max_iter;
	logreg_moments_init(&st->mom, p, palloc(logreg_moments_size(p)));
	st->row_size = sizeof(double) * p + 1;
	st->row = palloc(st->row_size);
	st->at_end = true;
	PrepareTempTablespaces();
	st->file = BufFileCreateTemp(false);
	MemoryContextSwitchTo(old);
	AggRegisterCallback(fcinfo, logreg_agg_shutdown, PointerGetDatum(st));
	return st;
}

PG_FUNCTION_INFO_V1(wib_logreg_fit_agg_trans);

/*
 * Transition function of the three forms of wib.logreg_fit_agg (2, 3 or 4
 * arguments): checks the row, adds it to the moments, appends it to the file.
 */
Datum
wib_logreg_fit_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	int			kind = AggCheckCallContext(fcinfo, &aggctx);
	LogRegAggState *st = PG_ARGISNULL(0) ? NULL : (LogRegAggState *) PG_GETARG_POINTER(0);
	int64		row = st ? st->mom.n + 1 : 1;
	double		l2 = 1.0;
	int			max_iter = 50;
	const double *x;
	int			p;
	bool		y;
	int			bad;

	if (kind != AGG_CONTEXT_AGGREGATE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.logreg_fit_agg can only be used as a plain aggregate"),
				 errdetail("It is not a window function.")));

	require_not_null(fcinfo, 1, "features", row);
	require_not_null(fcinfo, 2, "label", row);
	if (PG_NARGS() > 3)
	{
		require_not_null(fcinfo, 3, "l2", row);
		l2 = PG_GETARG_FLOAT8(3);
	}
	if (PG_NARGS() > 4)
	{
		require_not_null(fcinfo, 4, "max_iter", row);
		max_iter = PG_GETARG_INT32(4);
	}
	x = logreg_sql_float8s(PG_GETARG_ARRAYTYPE_P(1), "features", 1, &p);
	y = PG_GETARG_BOOL(2);

	if (st == NULL)
		st = logreg_agg_start(fcinfo, aggctx, p, l2, max_iter);
	else
	{
		if (p != st->p)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid features"),
					 errdetail("Row %lld has %d features but the first row has %d; every row must have as many.",
							   (long long) row, p, st->p)));
		if (!(l2 == st->opt.l2) || max_iter != st->opt.max_iter)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s", max_iter != st->opt.max_iter ? "max_iter" : "l2"),
					 errdetail("l2 and max_iter must be the same for every row; row %lld differs from the first.",
							   (long long) row)));
	}

	bad = logreg_moments_add(&st->mom, x, y);
	if (bad >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid features"),
				 errdetail("Feature %d of row %lld is %g; features must be finite.",
						   bad + 1, (long long) row, x[bad])));

	if (!st->at_end)
	{
		if (BufFileSeek(st->file, st->end_fileno, st->end_offset, SEEK_SET) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not seek in the temporary file of wib.logreg_fit_agg: %m")));
		st->at_end = true;
	}
	memcpy(st->row, x, sizeof(double) * p);
	st->row[sizeof(double) * p] = y ? 1 : 0;
	BufFileWrite(st->file, st->row, st->row_size);

	PG_RETURN_POINTER(st);
}

/* Row source over the state's file: rewinds to the first row. */
static bool
file_rewind(void *arg)
{
	LogRegAggState *st = arg;

	if (st->at_end)
	{
		BufFileTell(st->file, &st->end_fileno, &st->end_offset);
		st->at_end = false;
	}
	st->rows_read = 0;
	return BufFileSeek(st->file, 0, 0, SEEK_SET) == 0;
}

/* Row source over the state's file: the next row, with a cancel check. */
static int
file_next(void *arg, const double **x, bool *y)
{
	LogRegAggState *st = arg;
	size_t		got;

	CHECK_FOR_INTERRUPTS();
	if (st->rows_read >= st->mom.n)
		return 0;
	got = BufFileRead(st->file, st->row, st->row_size);
	if (got != st->row_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read row %lld of the temporary file of wib.logreg_fit_agg: read only %zu of %zu bytes",
						(long long) (st->rows_read + 1), got, st->row_size)));
	st->rows_read++;
	*x = (const double *) st->row;
	*y = st->row[sizeof(double) * st->p] != 0;
	return 1;
}

PG_FUNCTION_INFO_V1(wib_logreg_fit_agg_final);

/*
 * Final function: the Newton passes over the file.  Leaves the state as it
 * was (the next row, if any, is appended at the end), so the result can be
 * computed again from the same state.
 */
Datum
wib_logreg_fit_agg_final(PG_FUNCTION_ARGS)
{
	LogRegAggState *st;
	LogRegSource src;
	LogRegResult res;
	double	   *coef;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (LogRegAggState *) PG_GETARG_POINTER(0);
	if (st->file == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the temporary file of wib.logreg_fit_agg is already closed")));

	src.arg = st;
	src.rewind = file_rewind;
	src.next = file_next;
	coef = palloc(sizeof(double) * (st->p + 1));
	if (logreg_fit(&src, &st->mom, &st->opt, palloc(logreg_work_size(st->p)), coef, &res) != LOGREG_OK)
		logreg_sql_report(&res, &st->opt);
	PG_RETURN_ARRAYTYPE_P(logreg_sql_result(coef, st->p));
}
