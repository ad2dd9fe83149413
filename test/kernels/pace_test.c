/*
 * pace_test.c
 *		Rolling-window pacing: a send waits exactly until the limit-th latest
 *		has left the window; simulated runs with random jitter never put more
 *		than the limit in any window and still reach the limit's rate; the
 *		ring wraps; the backoff doubles, caps and honours Retry-After.
 *
 * Build: cc -I src -o pace_test test/kernels/pace_test.c src/crm/pace.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/pace.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Most sends found in any window of length window among times[0..n) (sorted). */
static int
max_in_window(const int64_t *times, int n, int64_t window)
{
	int			best = 0;
	int			lo = 0;

	for (int hi = 0; hi < n; hi++)
	{
		while (times[lo] <= times[hi] - window)
			lo++;
		if (hi - lo + 1 > best)
			best = hi - lo + 1;
	}
	return best;
}

int
main(void)
{
	PaceWindow	w;
	static int64_t sent[20000];
	int64_t		t;
	int			n;
	int			ok;

	pace_reset(&w);
	check(pace_earliest(&w, 3, 1000, 50) == 50, "an_empty_window_sends_at_once");
	pace_record(&w, 100);
	pace_record(&w, 200);
	check(pace_earliest(&w, 3, 1000, 250) == 250, "below_the_limit_sends_at_once");
	pace_record(&w, 300);
	check(pace_earliest(&w, 3, 1000, 350) == 1100, "at_the_limit_waits_until_the_oldest_leaves_the_window");
	check(pace_earliest(&w, 3, 1000, 5000) == 5000, "long_after_the_window_sends_at_once");
	check(pace_earliest(&w, 2, 1000, 350) == 1200, "a_lower_limit_looks_at_a_more_recent_send");
	check(pace_in_window(&w, 1000, 1150) == 2, "sends_in_window_counts_only_the_live_ones");
	check(pace_earliest(&w, 0, 1000, 350) == pace_earliest(&w, 1, 1000, 350), "a_limit_below_one_is_one");

	/* Wrap the ring many times at the capacity. */
	pace_reset(&w);
	ok = 1;
	for (int i = 0; i < PACE_CAPACITY * 5; i++)
	{
		int64_t		at = pace_earliest(&w, PACE_CAPACITY, 1000000, (int64_t) i * 100);

		pace_record(&w, at);
		sent[i] = at;
	}
	ok = max_in_window(sent, PACE_CAPACITY * 5, 1000000) <= PACE_CAPACITY;
	check(ok && w.count == PACE_CAPACITY, "the_ring_wraps_and_holds_the_capacity_limit");
	check(pace_earliest(&w, PACE_CAPACITY + 50, 1000000, 0) == pace_earliest(&w, PACE_CAPACITY, 1000000, 0),
		  "a_limit_above_capacity_is_clamped");

	/*
	 * Simulation: 110 per 10 s paced at 104 per 10.25 s, sends followed by a
	 * random network delay of 0-200 ms: arrivals never exceed 110 per 10 s,
	 * and the rate stays at least 99 % of the paced one.
	 */
	srand(42);
	pace_reset(&w);
	t = 0;
	n = 0;
	while (n < 5000)
	{
		int64_t		at = pace_earliest(&w, 104, 10250000, t);

		pace_record(&w, at);
		sent[n++] = at + (rand() % 200000);
		t = at + (rand() % 3000);	/* the caller's own work between sends */
	}
	{
		int64_t		arrivals[5000];

		memcpy(arrivals, sent, sizeof(arrivals));
		/* sort arrivals (insertion sort is plenty for nearly sorted data) */
		for (int i = 1; i < n; i++)
		{
			int64_t		v = arrivals[i];
			int			j = i - 1;

			while (j >= 0 && arrivals[j] > v)
			{
				arrivals[j + 1] = arrivals[j];
				j--;
			}
			arrivals[j + 1] = v;
		}
		check(max_in_window(arrivals, n, 10000000) <= 110, "jittered_arrivals_never_exceed_110_per_10_s");
		check((double) n / ((double) arrivals[n - 1] / 1e6) >= 0.99 * 104 / 10.25,
			  "the_paced_rate_is_reached");
	}

	/* Backoff. */
	check(pace_backoff(1, 500, 30000, -1) == 500 && pace_backoff(2, 500, 30000, -1) == 1000 &&
		  pace_backoff(4, 500, 30000, -1) == 4000, "backoff_doubles_per_attempt");
	check(pace_backoff(20, 500, 30000, -1) == 30000 && pace_backoff(1000, 500, 30000, -1) == 30000,
		  "backoff_stops_at_the_cap");
	check(pace_backoff(3, 500, 30000, 7000) == 7000, "retry_after_is_honoured");
	check(pace_backoff(3, 500, 30000, 90000) == 30000, "retry_after_is_capped");
	check(pace_backoff(1, 500, 30000, 0) == 0, "retry_after_zero_means_at_once");

	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
