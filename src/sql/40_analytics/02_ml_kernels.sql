-- Logistic regression and classifier metrics (src/analytics/logreg*.c, metrics.c).
--
-- Objective: minimize  sum_i [log(1 + exp(z_i)) - y_i z_i] + (l2 / 2) ||w||^2,
-- z_i = b + x_i . w, intercept b not penalized.  scikit-learn's
-- LogisticRegression(C = c) minimizes c * sum(log-loss) + ||w||^2 / 2, the same
-- optimum with l2 = 1 / c; l2 = 0 is the plain maximum-likelihood fit.
-- Features are standardized internally (mean and SD, then the mean and SD
-- weighted by the fit's p(1 - p); the penalty carried over exactly), so the
-- coefficients returned are the optimum on the caller's scale.
-- Stopping: a Newton step changes no row's linear predictor z by more than
-- 1e-10 (after that step, Newton's quadratic convergence leaves an error of
-- the order of 1e-20); or, for an ill-conditioned problem, the objective and
-- its gradient are at their rounding level twice in a row (the best double
-- precision allows).
--
-- SQLSTATEs:
--   22023 invalid_parameter_value    bad argument: shape, range, NULL, NaN or
--                                    infinite element, a single class of labels
--   22003 numeric_value_out_of_range no finite solution (classes separated and
--                                    l2 = 0); features too large to standardize
--   22000 data_exception             no unique solution (linearly dependent
--                                    features with l2 = 0), numerical breakdown
--   54000 program_limit_exceeded     no convergence within max_iter
--   0A000 feature_not_supported      logreg_fit_agg used as a window function
--
-- Parallel safety: the scalar functions are PARALLEL SAFE (pure computation).
-- The aggregate is PARALLEL RESTRICTED: it has no combine function, so the rows
-- of a group always go through one process, and its state is a temporary file
-- owned by that process; RESTRICTED keeps it in the leader while still allowing
-- a parallel scan to feed it (UNSAFE would forbid parallel plans for the whole
-- query for no benefit).

CREATE OR REPLACE FUNCTION wib.logreg_fit(features float8[], labels boolean[], n_features integer,
                               l2 float8 DEFAULT 1.0, max_iter integer DEFAULT 50)
    RETURNS float8[]
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_logreg_fit';
COMMENT ON FUNCTION wib.logreg_fit(float8[], boolean[], integer, float8, integer) IS
    'Logistic regression by Newton/IRLS: {intercept, coefficient per feature} on the original scale, minimizing sum(log-loss) + l2/2 * ||w||^2 (intercept not penalized; scikit-learn''s C = 1/l2; l2 = 0 is maximum likelihood). features: n rows x n_features, row-major (or a 2-D array), one label per row. Features are standardized internally; a constant column gets coefficient 0. Converged when a Newton step changes no row''s linear predictor by more than 1e-10 (or, ill-conditioned, when objective and gradient reach their rounding level). Errors: 22023 bad or NULL argument, NaN/Inf, single class; 22003 classes separated with l2 = 0; 22000 collinear features with l2 = 0; 54000 no convergence within max_iter (at most 10000).';

CREATE OR REPLACE FUNCTION wib.logreg_predict(coefficients float8[], features float8[])
    RETURNS float8
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_logreg_predict';
COMMENT ON FUNCTION wib.logreg_predict(float8[], float8[]) IS
    'Probability of label true under the model coefficients = {intercept, w1..wp} for one row of p features: 1 / (1 + exp(-z)), z = intercept + features . w, finite and accurate for any z (1 at z = 800, 0 at z = -800). NULL in, NULL out; 22023 for a length mismatch or a NULL, NaN or infinite element.';

CREATE OR REPLACE FUNCTION wib.roc_auc(scores float8[], labels boolean[])
    RETURNS float8
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_roc_auc';
COMMENT ON FUNCTION wib.roc_auc(float8[], boolean[]) IS
    'Area under the ROC curve of scores against labels, as scikit-learn''s roc_auc_score: the Mann-Whitney U statistic over n_pos * n_neg with ties counting one half, O(n log n). 22023 for a length mismatch, a NULL or NaN element, no rows or a single class.';

CREATE OR REPLACE FUNCTION wib.log_loss(probabilities float8[], labels boolean[])
    RETURNS float8
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_log_loss';
COMMENT ON FUNCTION wib.log_loss(float8[], boolean[]) IS
    'Mean negative log-likelihood of the probabilities of label true, clipped to [1e-15, 1 - 1e-15], as scikit-learn''s log_loss(eps=1e-15). 22023 for a length mismatch, no rows, or a NULL element or probability outside [0, 1]; labels of one class are allowed.';

CREATE OR REPLACE FUNCTION wib.brier_score(probabilities float8[], labels boolean[])
    RETURNS float8
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_brier_score';
COMMENT ON FUNCTION wib.brier_score(float8[], boolean[]) IS
    'Mean squared difference between the probabilities of label true and the labels (1 / 0), as scikit-learn''s brier_score_loss. 22023 for a length mismatch, no rows, or a NULL element or probability outside [0, 1].';

-- The aggregate: one transition function (2, 3 or 4 aggregate arguments: an
-- aggregate's arguments cannot have defaults, so there are three forms).
CREATE OR REPLACE FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean)
    RETURNS internal
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'wib_logreg_fit_agg_trans';
COMMENT ON FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean) IS
    'Internal: transition function of wib.logreg_fit_agg (appends the row to a temporary file).';
CREATE OR REPLACE FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean, float8)
    RETURNS internal
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'wib_logreg_fit_agg_trans';
COMMENT ON FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean, float8) IS
    'Internal: transition function of wib.logreg_fit_agg (appends the row to a temporary file).';
CREATE OR REPLACE FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean, float8, integer)
    RETURNS internal
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'wib_logreg_fit_agg_trans';
COMMENT ON FUNCTION wib.logreg_fit_agg_trans(internal, float8[], boolean, float8, integer) IS
    'Internal: transition function of wib.logreg_fit_agg (appends the row to a temporary file).';
CREATE OR REPLACE FUNCTION wib.logreg_fit_agg_final(internal)
    RETURNS float8[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'wib_logreg_fit_agg_final';
COMMENT ON FUNCTION wib.logreg_fit_agg_final(internal) IS
    'Internal: final function of wib.logreg_fit_agg (the Newton passes over the temporary file).';

-- FINALFUNC_MODIFY = READ_ONLY: the final function leaves the state as it found
-- it (it reads the file and appends resume at its end), so two identical calls
-- in one query may share one state.
CREATE OR REPLACE AGGREGATE wib.logreg_fit_agg(features float8[], label boolean) (
    SFUNC = wib.logreg_fit_agg_trans, STYPE = internal, SSPACE = 9000,
    FINALFUNC = wib.logreg_fit_agg_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = RESTRICTED);
CREATE OR REPLACE AGGREGATE wib.logreg_fit_agg(features float8[], label boolean, l2 float8) (
    SFUNC = wib.logreg_fit_agg_trans, STYPE = internal, SSPACE = 9000,
    FINALFUNC = wib.logreg_fit_agg_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = RESTRICTED);
CREATE OR REPLACE AGGREGATE wib.logreg_fit_agg(features float8[], label boolean, l2 float8, max_iter integer) (
    SFUNC = wib.logreg_fit_agg_trans, STYPE = internal, SSPACE = 9000,
    FINALFUNC = wib.logreg_fit_agg_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE wib.logreg_fit_agg(float8[], boolean) IS
    'wib.logreg_fit over the aggregated rows (features of one row, its label), l2 = 1, max_iter = 50; the rows are read once into a temporary file (temp_file_limit applies) and the Newton passes re-read it, so memory is O(p^2) whatever the row count. Same result as wib.logreg_fit on the same rows in the same order; NULL for no rows; 22023 for a NULL features, label, l2 or max_iter, or rows of different lengths; not a window function (0A000).';
COMMENT ON AGGREGATE wib.logreg_fit_agg(float8[], boolean, float8) IS
    'wib.logreg_fit_agg(features, label) with penalty l2 (the same for every row), max_iter = 50.';
COMMENT ON AGGREGATE wib.logreg_fit_agg(float8[], boolean, float8, integer) IS
    'wib.logreg_fit_agg(features, label) with penalty l2 and iteration limit max_iter (the same for every row).';
