/*
 * metrics.c
 *		ROC AUC, log loss and Brier score of predicted probabilities.
 *
 * The AUC sorts the scores once and walks groups of equal scores: each
 * positive of a group outranks the negatives of all lower groups and ties
 * with the negatives of its own group (one half each).  Twice the U statistic
 * is accumulated as an integer, so the result is exact up to the one final
 * division, whatever n.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analytics/metrics.h"

typedef struct ScoredLabel
{
	double		score;
	bool		label;
} ScoredLabel;

/* One (score, label) pair per row, sorted in place. */
size_t
metrics_roc_auc_scratch_size(size_t n)
{
	return sizeof(ScoredLabel) * (n > 0 ? n : 1);
}

/* Orders by score; -0.0 and 0.0 compare equal, as they are the same score. */
static int
scored_label_cmp(const void *a, const void *b)
{
	double		x = ((const ScoredLabel *) a)->score;
	double		y = ((const ScoredLabel *) b)->score;

	return (x > y) - (x < y);
}

/* Sorts the pairs, then counts 2U group by group (see the file comment). */
MetricsStatus
metrics_roc_auc(const double *scores, const bool *labels, size_t n,
				void *scratch, double *auc, char *reason)
{
	ScoredLabel *s = scratch;
	uint64_t	n_pos = 0,
				n_neg = 0,
				neg_below = 0,
				twice_u = 0;

	if (n == 0)
	{
		snprintf(reason, METRICS_REASON_LEN, "there are no scores");
		return METRICS_EMPTY;
	}
	for (size_t i = 0; i < n; i++)
	{
		if (isnan(scores[i]))
		{
			snprintf(reason, METRICS_REASON_LEN, "score %zu is NaN", i + 1);
			return METRICS_BAD_VALUE;
		}
		s[i].score = scores[i];
		s[i].label = labels[i];
		if (labels[i])
			n_pos++;
		else
			n_neg++;
	}
	if (n_pos == 0 || n_neg == 0)
	{
		snprintf(reason, METRICS_REASON_LEN,
				 "every label is %s: the AUC needs both classes",
				 n_pos == 0 ? "false" : "true");
		return METRICS_SINGLE_CLASS;
	}
	qsort(s, n, sizeof(ScoredLabel), scored_label_cmp);
	for (size_t i = 0; i < n;)
	{
		uint64_t	pos = 0,
					neg = 0;
		size_t		j = i;

		while (j < n && s[j].score == s[i].score)
		{
			if (s[j].label)
				pos++;
			else
				neg++;
			j++;
		}
		twice_u += 2 * pos * neg_below + pos * neg;
		neg_below += neg;
		i = j;
	}
	*auc = (double) twice_u / (2.0 * (double) n_pos * (double) n_neg);
	return METRICS_OK;
}

/* Checks that every probability lies in [0, 1]. */
static MetricsStatus
check_probabilities(const double *prob, size_t n, char *reason)
{
	if (n == 0)
	{
		snprintf(reason, METRICS_REASON_LEN, "there are no probabilities");
		return METRICS_EMPTY;
	}
	for (size_t i = 0; i < n; i++)
		if (isnan(prob[i]))
		{
			snprintf(reason, METRICS_REASON_LEN,
					 "probability %zu is NaN; probabilities must lie in [0, 1]", i + 1);
			return METRICS_BAD_VALUE;
		}
		else if (!(prob[i] >= 0.0 && prob[i] <= 1.0))
		{
			snprintf(reason, METRICS_REASON_LEN,
					 "probability %zu is %g; probabilities must lie in [0, 1]", i + 1, prob[i]);
			return METRICS_BAD_VALUE;
		}
	return METRICS_OK;
}

/* Clips p to [eps, 1 - eps] first, as scikit-learn does, then -log p or -log(1 - p). */
MetricsStatus
metrics_log_loss(const double *prob, const bool *labels, size_t n,
				 double *loss, char *reason)
{
	MetricsStatus st = check_probabilities(prob, n, reason);
	double		sum = 0.0;

	if (st != METRICS_OK)
		return st;
	for (size_t i = 0; i < n; i++)
	{
		double		p = fmin(fmax(prob[i], METRICS_LOG_LOSS_EPS), 1.0 - METRICS_LOG_LOSS_EPS);

		sum += labels[i] ? -log(p) : -log1p(-p);
	}
	*loss = sum / (double) n;
	return METRICS_OK;
}

/* Mean of (p - y)^2. */
MetricsStatus
metrics_brier(const double *prob, const bool *labels, size_t n,
			  double *score, char *reason)
{
	MetricsStatus st = check_probabilities(prob, n, reason);
	double		sum = 0.0;

	if (st != METRICS_OK)
		return st;
	for (size_t i = 0; i < n; i++)
	{
		double		d = prob[i] - (labels[i] ? 1.0 : 0.0);

		sum += d * d;
	}
	*score = sum / (double) n;
	return METRICS_OK;
}
