/*
 * metrics.h
 *		Evaluation of probabilistic classifiers: ROC AUC, log loss, Brier score.
 *
 * The definitions are scikit-learn's: roc_auc_score (ties in the scores
 * count one half, i.e. the Mann-Whitney U statistic with average ranks over
 * n_pos * n_neg), log_loss of the positive-class probabilities clipped to
 * [1e-15, 1 - 1e-15], and brier_score_loss, both as means over the rows.
 *
 * Backend-free: no PostgreSQL headers, no allocation (the AUC sorts in a
 * caller-provided scratch area), never raises; failures return a status
 * with a short reason.
 */
#ifndef WIB_ANALYTICS_METRICS_H
#define WIB_ANALYTICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define METRICS_REASON_LEN		128
/* The clipping of log_loss. */
#define METRICS_LOG_LOSS_EPS	1e-15

typedef enum MetricsStatus
{
	METRICS_OK = 0,
	METRICS_EMPTY,				/* no rows */
	METRICS_BAD_VALUE,			/* NaN score, probability outside [0, 1] */
	METRICS_SINGLE_CLASS		/* AUC: every label equal */
} MetricsStatus;

/* Bytes of scratch metrics_roc_auc needs for n scores. */
extern size_t metrics_roc_auc_scratch_size(size_t n);

/*
 * The area under the ROC curve of scores against labels, O(n log n).
 * Scores may be any non-NaN values (infinities included); scratch holds
 * metrics_roc_auc_scratch_size(n) bytes aligned for doubles.
 */
extern MetricsStatus metrics_roc_auc(const double *scores, const bool *labels, size_t n,
									 void *scratch, double *auc, char *reason);

/* Mean negative log-likelihood of probabilities in [0, 1], clipped as above. */
extern MetricsStatus metrics_log_loss(const double *prob, const bool *labels, size_t n,
									  double *loss, char *reason);

/* Mean squared difference between probabilities in [0, 1] and labels (0 / 1). */
extern MetricsStatus metrics_brier(const double *prob, const bool *labels, size_t n,
								   double *score, char *reason);

#endif							/* WIB_ANALYTICS_METRICS_H */
