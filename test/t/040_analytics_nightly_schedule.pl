# The scheduler worker runs wib.run_nightly() on its own at the time of day
# set by wib.nightly_at, and moves the job when the setting changes.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('analytics_schedule', conf => "wib.nightly_at = '03:00'");

is($node->safe_psql('postgres',
		"SELECT run_at || ' ' || (next_run_at > now())::int FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'"),
	'03:00:00 1', 'nightly_job_registered_at_wib_nightly_at');

# Malformed times are refused when set.
for my $bad ('25:00', '2:00', '+2:00', '02:00:00x', 'noon')
{
	my ($ret, $out, $err) = $node->psql('postgres', "ALTER SYSTEM SET wib.nightly_at = '$bad'");
	like($err, qr/invalid value for parameter "wib.nightly_at"/, "nightly_at_refuses_$bad");
}

# A pro organization with calls yesterday (UTC) and one sentiment score.
$node->safe_psql('postgres', q{
	SELECT wib.organization_create('Night Org', 'business');
	INSERT INTO wib.calls (organization_id, status, started_at, duration_seconds)
	SELECT o.id, 'completed', ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
	                          + i * interval '1 minute', 30
	  FROM wib.organizations o, generate_series(1, 7) i WHERE o.name = 'Night Org';
	INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
	SELECT organization_id, id, 0.5 FROM wib.calls LIMIT 1;
});

# Move the nightly run to a few seconds from now.
my $at = $node->safe_psql('postgres',
	"SELECT to_char((now() AT TIME ZONE 'UTC') + interval '3 seconds', 'HH24:MI:SS')");
$node->append_conf('postgresql.conf', "wib.nightly_at = '$at'");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT current_setting('wib.nightly_at') = '$at'"),
	'new_nightly_at_is_loaded');
$node->safe_psql('postgres', 'SELECT wib.analytics_reschedule()');
is($node->safe_psql('postgres', "SELECT run_at FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'"),
	$at, 'reschedule_moves_the_job_to_the_setting');

ok($node->poll_query_until('postgres',
		"SELECT run_count >= 1 FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'"),
	'scheduler_runs_the_nightly_job_on_its_own');
is($node->safe_psql('postgres',
		"SELECT last_status FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'"),
	'succeeded', 'nightly_job_succeeds');
is($node->safe_psql('postgres', q{
	SELECT total_calls || ' ' || calls_with_sentiment FROM wib.analytics_snapshots
	 WHERE granularity = 'daily' AND snapshot_date = (now() AT TIME ZONE 'UTC')::date - 1}),
	'7 1', 'nightly_job_wrote_yesterdays_snapshot');
is($node->safe_psql('postgres',
		"SELECT last_day = (now() AT TIME ZONE 'UTC')::date - 1 FROM wib.analytics_refreshes WHERE name = 'views'"),
	't', 'data_as_of_recorded_for_yesterday');
is($node->safe_psql('postgres',
		"SELECT next_run_at > now() + interval '23 hours' FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'"),
	't', 'next_run_is_tomorrow_at_the_same_time');

$node->stop;
done_testing();
