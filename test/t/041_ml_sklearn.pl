# wib's logistic regression and metrics against scikit-learn (Debian's
# python3-sklearn) on the same data: wib.logreg_fit and wib.logreg_fit_agg
# equal LogisticRegression(solver="newton-cholesky") with the same penalty to
# 1e-6 on every coefficient; wib.roc_auc, wib.log_loss and wib.brier_score
# equal roc_auc_score, log_loss and brier_score_loss on 10,000 random points;
# and a contact model trained in the database equals the same rows exported
# and fitted with scikit-learn (coefficients, AUC, log loss, Brier score).
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $python = '/usr/bin/python3';
plan skip_all => 'scikit-learn is not installed (Debian package python3-sklearn)'
  unless system($python, '-c', 'import sklearn') == 0;

my $node = wib_node('ml_sklearn');
my $dir = PostgreSQL::Test::Utils::tempdir();
my $logreg_script = wib_root() . '/test/t/logreg_sklearn.py';
my $models_script = wib_root() . '/test/t/ml_models_sklearn.py';

# Runs a script on a CSV written from a query; returns its JSON answer.
sub sklearn
{
	my ($script, $name, $query, @args) = @_;
	my $csv = "$dir/$name.csv";
	my $rows = $node->safe_psql('postgres', "COPY ($query) TO STDOUT WITH CSV HEADER");
	open(my $fh, '>', $csv) or die "$csv: $!";
	print $fh "$rows\n";
	close $fh;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, $script, $csv, @args ], '>', \$out, '2>', \$err)
	  or die "$script failed: $err";
	return decode_json($out);
}

# The largest difference between two coefficient vectors, relative to each
# coefficient's size when it is larger than 1.
sub max_diff
{
	my ($got, $want) = @_;
	return 1e9 unless @$got == @$want;
	my $max = 0;
	for my $i (0 .. $#$want)
	{
		my $scale = abs($want->[$i]) > 1 ? abs($want->[$i]) : 1;
		my $d = abs($got->[$i] - $want->[$i]) / $scale;
		$max = $d if $d > $max;
	}
	return $max;
}

sub floats { return [ map { $_ + 0 } split /,/, $_[0] ] }

# ---------------------------------------------------------------- data sets
$node->safe_psql('postgres', q{
	-- Two features on one scale.
	SELECT setseed(0.11);
	CREATE TABLE ds_two AS
	SELECT i AS id, x1, x2, random() < 1 / (1 + exp(-(0.5 + 1.2 * x1 - 0.8 * x2))) AS label
	  FROM (SELECT i, random() * 4 - 2 AS x1, random() * 4 - 2 AS x2 FROM generate_series(1, 500) i) s;
	-- Five features of very different scales: thousands, hundredths, a flag,
	-- a heavy tail, and one correlated with the first.
	SELECT setseed(0.22);
	CREATE TABLE ds_scales AS
	SELECT i AS id, x1, x2, x3, x4, x1 / 1000 + 0.1 * r5 AS x5,
	       random() < 1 / (1 + exp(-(-2 + 0.002 * (x1 - 1000) + 50 * x2 + 0.7 * x3 - 0.05 * x4 + 0.5 * (x1 / 1000 + 0.1 * r5)))) AS label
	  FROM (SELECT i, 1000 + 300 * random() AS x1, 0.01 * random() AS x2, (random() < 0.3)::int::float8 AS x3,
	               exp(3 * random()) AS x4, random() AS r5
	          FROM generate_series(1, 2000) i) s;
	-- Three features, noisy labels, fitted without a penalty.
	SELECT setseed(0.33);
	CREATE TABLE ds_plain AS
	SELECT i AS id, x1, x2, x3, random() < 1 / (1 + exp(-(x1 - x2 + 0.3 * x3))) AS label
	  FROM (SELECT i, random() * 2 - 1 AS x1, random() * 2 - 1 AS x2, random() * 10 AS x3
	          FROM generate_series(1, 300) i) s;
	-- 10,000 scores with ties (two decimals), labels that depend on them.
	SELECT setseed(0.44);
	CREATE TABLE ds_auc AS
	SELECT i AS id, score, random() < 0.2 + 0.6 * score AS label
	  FROM (SELECT i, round(random()::numeric, 2)::float8 AS score FROM generate_series(1, 10000) i) s;
});

my %sets = (
	ds_two => { cols => [qw(x1 x2)], l2 => [ 0, 0.1, 1, 10 ] },
	ds_scales => { cols => [qw(x1 x2 x3 x4 x5)], l2 => [ 0.5, 1, 100 ] },
	ds_plain => { cols => [qw(x1 x2 x3)], l2 => [0] });
for my $set (sort keys %sets)
{
	my @cols = @{ $sets{$set}{cols} };
	my $p = scalar @cols;
	my $feat = 'ARRAY[' . join(', ', @cols) . ']::float8[]';
	my $ref = sklearn($logreg_script, $set,
		"SELECT label, " . join(', ', @cols) . " FROM $set ORDER BY id",
		map { ('--l2', $_) } @{ $sets{$set}{l2} });
	for my $fit (@{ $ref->{fits} })
	{
		my $l2 = $fit->{l2};
		my $scalar = $node->safe_psql('postgres',
			"SELECT array_to_string(wib.logreg_fit(array_agg($feat ORDER BY id), array_agg(label ORDER BY id), $p, $l2, 100), ',')"
			  . " FROM $set");
		my $d = max_diff(floats($scalar), $fit->{coefficients});
		note(sprintf("%s l2 = %s: largest coefficient difference %.2e (scalar)", $set, $l2, $d));
		cmp_ok($d, '<=', 1e-6, "logreg_fit_equals_sklearn_${set}_l2_$l2")
		  or diag("wib: $scalar\nsklearn: @{ $fit->{coefficients} }");
		my $agg = $node->safe_psql('postgres',
			"SELECT array_to_string(wib.logreg_fit_agg($feat, label, ${l2}::float8, 100), ',')"
			  . " FROM (SELECT * FROM $set ORDER BY id) s");
		$d = max_diff(floats($agg), $fit->{coefficients});
		note(sprintf("%s l2 = %s: largest coefficient difference %.2e (aggregate)", $set, $l2, $d));
		cmp_ok($d, '<=', 1e-6, "logreg_fit_agg_equals_sklearn_${set}_l2_$l2")
		  or diag("wib: $agg\nsklearn: @{ $fit->{coefficients} }");
	}
}

# ---------------------------------------------------------------- metrics
my $metrics = sklearn($logreg_script, 'ds_auc', 'SELECT label, score, score AS probability FROM ds_auc ORDER BY id');
my ($auc, $loss, $brier) = split /\|/, $node->safe_psql('postgres',
	"SELECT wib.roc_auc(array_agg(score ORDER BY id), array_agg(label ORDER BY id)),"
	  . " wib.log_loss(array_agg(score ORDER BY id), array_agg(label ORDER BY id)),"
	  . " wib.brier_score(array_agg(score ORDER BY id), array_agg(label ORDER BY id)) FROM ds_auc");
cmp_ok(abs($auc - $metrics->{roc_auc}), '<=', 1e-12, 'roc_auc_equals_roc_auc_score_on_10000_points_with_ties')
  or diag("wib $auc, sklearn $metrics->{roc_auc}");
cmp_ok(abs($loss - $metrics->{log_loss}), '<=', 1e-12, 'log_loss_equals_sklearn_log_loss_on_10000_points')
  or diag("wib $loss, sklearn $metrics->{log_loss}");
cmp_ok(abs($brier - $metrics->{brier_score}), '<=', 1e-12, 'brier_score_equals_brier_score_loss_on_10000_points')
  or diag("wib $brier, sklearn $metrics->{brier_score}");

# ---------------------------------------------------------------- contact models
# A model trained in the database equals its rows exported and fitted with
# scikit-learn the same way (standardized on the training rows, same penalty).
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Exported', 'enterprise')");
$node->safe_psql('postgres',
	slurp_file(wib_root() . '/test/t/sql/ml_synthetic.sql') . "\nSELECT pg_temp.ml_gen('$org', 0, 400, 250, true, 0.5);");
my $names = $node->safe_psql('postgres', "SELECT array_to_string(wib.ml_feature_names(), ',')");
my @names = split /,/, $names;
my $columns = join(', ', map { "r.features[" . ($_ + 1) . "] AS $names[$_]" } 0 .. $#names);
for my $type (qw(deal_probability churn_risk))
{
	my ($status, $coef, $m_auc, $m_loss, $m_brier) = split /\|/, $node->safe_psql('postgres',
		"SELECT status, array_to_string(coefficients, ','), auc, log_loss, brier FROM wib.ml_train_org('$org', '$type')");
	is($status, 'active', "${type}_model_is_trained");
	my $ref = sklearn($models_script, "rows_$type",
		"SELECT '$org' AS \"group\", r.is_eval, r.label, $columns"
		  . " FROM wib.ml_training_rows('$org', '$type', wib.ml_today()) r",
		'--l2', '1');
	my $fit = $ref->{groups}{$org};
	note(sprintf("%s: coefficients differ by at most %.2e, AUC by %.2e (wib %.6f, scikit-learn %.6f)", $type,
			max_diff(floats($coef), $fit->{coefficients}), abs($m_auc - $fit->{auc}), $m_auc, $fit->{auc}));
	cmp_ok(max_diff(floats($coef), $fit->{coefficients}), '<=', 1e-6, "${type}_coefficients_equal_sklearn_on_the_exported_rows")
	  or diag("wib: $coef\nsklearn: @{ $fit->{coefficients} }");
	cmp_ok(abs($m_auc - $fit->{auc}), '<=', 1e-6, "${type}_holdout_auc_equals_sklearn")
	  or diag("wib $m_auc, sklearn $fit->{auc}");
	cmp_ok(abs($m_loss - $fit->{log_loss}), '<=', 1e-6, "${type}_holdout_log_loss_equals_sklearn");
	cmp_ok(abs($m_brier - $fit->{brier}), '<=', 1e-6, "${type}_holdout_brier_equals_sklearn");
}

done_testing();
