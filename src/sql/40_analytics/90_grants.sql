-- Privileges of analytics.

GRANT EXECUTE ON FUNCTION wib.zscore_series(float8[], integer, float8, integer), wib.linear_trend(float8[])
    TO wib_app, wib_admin;

GRANT EXECUTE ON FUNCTION
    wib.sentiment_trends(date, date, text), wib.agent_leaderboard(date, date, text, integer),
    wib.analytics_snapshots_range(date, date, text), wib.anomalies(date, date), wib.data_as_of(),
    wib.analytics_deadline(integer), wib.analytics_deadline(), wib.analytics_check_range(date, date, integer),
    wib.sentiment_label(text, numeric)
TO wib_app;
GRANT SELECT ON wib.sentiment_scores, wib.analytics_snapshots, wib.ml_predictions, wib.analytics_refreshes TO wib_app;

GRANT EXECUTE ON FUNCTION
    wib.run_nightly(date), wib.run_nightly_range(date, date), wib.sentiment_backfill(),
    wib.analytics_reschedule()
TO wib_admin;
-- The statistics kernels are plain computations over what the caller passes.
GRANT EXECUTE ON FUNCTION
    wib.logreg_fit(float8[], boolean[], integer, float8, integer), wib.logreg_predict(float8[], float8[]),
    wib.roc_auc(float8[], boolean[]), wib.log_loss(float8[], boolean[]), wib.brier_score(float8[], boolean[]),
    wib.logreg_fit_agg_trans(internal, float8[], boolean), wib.logreg_fit_agg_trans(internal, float8[], boolean, float8),
    wib.logreg_fit_agg_trans(internal, float8[], boolean, float8, integer), wib.logreg_fit_agg_final(internal)
TO wib_app, wib_admin;

-- Contact models: the API, and what its caller-rights functions and the
-- calls trigger call as the caller.
GRANT EXECUTE ON FUNCTION
    wib.ml_predict(text, text, text, text), wib.ml_predictions(text, text), wib.ml_status(), wib.ml_train(text),
    wib.ml_status_of(uuid), wib.ml_check_entity(text, text), wib.ml_subject(text)
TO wib_app;
GRANT SELECT ON wib.ml_models TO wib_app;
GRANT EXECUTE ON FUNCTION wib.ml_train_org(uuid, text) TO wib_admin;
