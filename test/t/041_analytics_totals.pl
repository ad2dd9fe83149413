# Analytics totals under every isolation level and beside concurrent writers:
# calls, outcomes and AI summaries changed in READ COMMITTED, REPEATABLE READ
# and SERIALIZABLE transactions, the nightly job run at each level, a writer
# still open while the job runs, and a writer committing after the job's
# snapshot was taken.  Whenever no writer is open after a run, a run leaves
# the totals equal to a full recomputation; a change the job could not see
# stays in the log for the next run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('analytics_totals');
my @levels = ('READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE');

my $diff_sql = q{
	SELECT (SELECT count(*) FROM ((SELECT * FROM wib.analytics_daily_totals EXCEPT ALL SELECT * FROM wib.analytics_daily_recompute())
	                              UNION ALL
	                              (SELECT * FROM wib.analytics_daily_recompute() EXCEPT ALL SELECT * FROM wib.analytics_daily_totals)) d)
	     + (SELECT count(*) FROM ((SELECT * FROM wib.analytics_agent_weekly_totals EXCEPT ALL SELECT * FROM wib.analytics_weekly_recompute())
	                              UNION ALL
	                              (SELECT * FROM wib.analytics_weekly_recompute() EXCEPT ALL SELECT * FROM wib.analytics_agent_weekly_totals)) w)};
sub diff { return $node->safe_psql('postgres', $diff_sql) }
sub pending { return $node->safe_psql('postgres', 'SELECT count(*) FROM wib.analytics_changes') }
my $nightly = "SELECT wib.run_nightly('2026-10-20')";

$node->safe_psql('postgres', q{
	SELECT wib.organization_create('Iso A', 'business'), wib.organization_create('Iso B', 'business');
	INSERT INTO wib.users (organization_id, id, name, role)
	SELECT o.id, 'agent-' || a, 'Agent ' || a, 'agent' FROM wib.organizations o, generate_series(1, 4) a;
	INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
	SELECT o.id, CASE WHEN i % 5 = 0 THEN NULL ELSE 'agent-' || (1 + i % 4) END, 'completed',
	       timestamptz '2026-10-01 00:00+00' + (i % 28) * interval '1 day' + (i * 7919 % 86400) * interval '1 second', 30 + i % 300
	  FROM wib.organizations o, generate_series(1, 500) i;
	INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
	SELECT organization_id, id, ((hashtext(id::text) % 1000) / 1000.0)::numeric(4,3) FROM wib.calls WHERE hashtext(id::text) % 3 = 0;
	INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
	SELECT organization_id, id, (ARRAY['sale', 'callback', 'voicemail'])[1 + abs(hashtext(id::text)) % 3]
	  FROM wib.calls WHERE hashtext(id::text) % 4 = 0;
});
$node->safe_psql('postgres', $nightly);
is(diff(), 0, 'first_run_equals_full_recomputation');

# Changes of every kind; $k varies which rows.
sub mix
{
	my ($k) = @_;
	return qq{
		INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
		SELECT o.id, 'agent-' || (1 + (i + $k) % 4), 'completed',
		       timestamptz '2026-10-10 00:00+00' + ((i * $k) % 10) * interval '1 day' + i * interval '7 minutes', 40 + i
		  FROM wib.organizations o, generate_series(1, 6) i;
		UPDATE wib.calls SET started_at = started_at + interval '2 days', agent_id = 'agent-' || (1 + $k % 4)
		 WHERE abs(hashtext(id::text || '$k')) % 13 = 0;
		UPDATE wib.calls SET status = 'failed', duration_seconds = NULL WHERE abs(hashtext(id::text || '$k')) % 17 = 1;
		DELETE FROM wib.calls WHERE abs(hashtext(id::text || '$k')) % 29 = 2;
		INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
		SELECT organization_id, id, (($k * 97 + abs(hashtext(id::text)) % 1000) % 1000 / 1000.0)::numeric(4,3) FROM wib.calls c
		 WHERE abs(hashtext(id::text || '$k')) % 11 = 3
		   AND NOT EXISTS (SELECT 1 FROM wib.ai_summaries a WHERE a.organization_id = c.organization_id AND a.call_id = c.id);
		UPDATE wib.ai_summaries SET sentiment_score = -sentiment_score WHERE abs(hashtext(id::text || '$k')) % 7 = 4;
		UPDATE wib.call_outcomes SET outcome = CASE outcome WHEN 'sale' THEN 'callback' ELSE 'sale' END
		 WHERE abs(hashtext(id::text || '$k')) % 5 = 0;
		INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
		SELECT organization_id, id, 'appointment_set' FROM wib.calls WHERE abs(hashtext(id::text || '$k')) % 19 = 5;
		DELETE FROM wib.call_outcomes WHERE abs(hashtext(id::text || '$k')) % 23 = 6;
	};
}

my $k = 0;
for my $w (@levels)
{
	for my $r (@levels)
	{
		$k++;
		$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL $w; " . mix($k) . " COMMIT;");
		cmp_ok(pending(), '>', 0, "changes_at_${w}_are_logged ($k)");
		$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL $r; $nightly; COMMIT;");
		is(diff(), 0, "changes_at_${w}_then_nightly_at_${r}_equal_full_recomputation");
		is(pending(), 0, "nightly_at_${r}_consumed_the_log ($k)");
	}
}

# The background sessions' notes of every query are noise here.
{
	no warnings 'redefine';
	*PostgreSQL::Test::BackgroundPsql::note = sub { };
}

# A writer still open while the job runs: its changes are not seen and its log
# rows stay; the run after its commit takes them in.
for my $w (@levels)
{
	for my $r (@levels)
	{
		$k++;
		my $writer = $node->background_psql('postgres');
		$writer->query_safe("BEGIN ISOLATION LEVEL $w; " . mix($k));
		$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL $r; $nightly; COMMIT;");
		is(pending(), 0, "open_writer_at_${w}: nothing committed is left after the run at ${r}");
		$writer->query_safe('COMMIT');
		$writer->quit;
		cmp_ok(pending(), '>', 0, "open_writer_at_${w}: its log rows wait for the next run");
		$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL $r; $nightly; COMMIT;");
		is(diff(), 0, "open_writer_at_${w}_nightly_at_${r}: the next run equals full recomputation");
	}
}

# A writer committing after the job took its snapshot (REPEATABLE READ and
# SERIALIZABLE jobs keep one snapshot for the whole run).
for my $r ('REPEATABLE READ', 'SERIALIZABLE')
{
	for my $w (@levels)
	{
		$k++;
		my $job = $node->background_psql('postgres');
		$job->query_safe("BEGIN ISOLATION LEVEL $r; SELECT count(*) FROM wib.calls;");
		$node->safe_psql('postgres', "BEGIN ISOLATION LEVEL $w; " . mix($k) . " COMMIT;");
		$job->query_safe("$nightly; COMMIT;");
		$job->quit;
		cmp_ok(pending(), '>', 0, "late_writer_at_${w}: changes committed after the snapshot of a ${r} run stay logged");
		$node->safe_psql('postgres', $nightly);
		is(diff(), 0, "late_writer_at_${w}_after_${r}_run: the next run equals full recomputation");
	}
}

# Dashboards read the same figures as a recomputation straight from the calls.
my $org = $node->safe_psql('postgres', "SELECT id FROM wib.organizations WHERE name = 'Iso A'");
is($node->safe_psql('postgres', qq{
	SET wib.org_id = '$org';
	SELECT count(*) FROM (SELECT * FROM wib.sentiment_trends('2026-10-01', '2026-11-05')
	                      EXCEPT
	                      SELECT g::date, count(c.id), count(s.id),
	                             round(avg(s.sentiment_score), 4), count(*) FILTER (WHERE s.sentiment_label = 'positive'),
	                             count(*) FILTER (WHERE s.sentiment_label = 'negative'),
	                             count(*) FILTER (WHERE s.sentiment_label IN ('neutral', 'mixed')),
	                             percentile_cont(0.5) WITHIN GROUP (ORDER BY s.sentiment_score::float8)
	                        FROM generate_series(timestamp '2026-10-01', '2026-11-05', interval '1 day') g
	                        LEFT JOIN wib.calls c ON c.organization_id = '$org'
	                                             AND c.started_at >= g AT TIME ZONE 'UTC' AND c.started_at < (g + interval '1 day') AT TIME ZONE 'UTC'
	                        LEFT JOIN wib.sentiment_scores s ON s.organization_id = c.organization_id AND s.call_id = c.id
	                       GROUP BY g) x}), '0', 'daily_trends_equal_a_recomputation_from_the_calls');

done_testing();
