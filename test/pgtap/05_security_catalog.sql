-- The catalog holds the security rules, for every function and table present
-- or added later: search paths end with pg_temp, definer-rights functions are
-- the extension owner's and open only to the roles listed here, functions that
-- act for a tenant restore the caller's context, and applications write no
-- table that the API keeps (the attacks themselves are in test/t/100_security.pl).
BEGIN;
SELECT plan(14);

CREATE TEMP VIEW wib_functions AS
SELECT p.oid, p.oid::regprocedure::text AS sig, p.prosecdef, p.proconfig, p.proowner, p.prosrc
  FROM pg_proc p WHERE p.pronamespace = 'wib'::regnamespace;

SELECT is(ARRAY(SELECT sig FROM wib_functions f, unnest(f.proconfig) c
                 WHERE c LIKE 'search_path=%' AND c !~ ', pg_temp$' ORDER BY 1),
          '{}'::text[], 'every function that sets search_path ends it with pg_temp');
SELECT is(ARRAY(SELECT sig FROM wib_functions f
                 WHERE f.prosecdef AND NOT EXISTS (SELECT 1 FROM unnest(f.proconfig) c WHERE c LIKE 'search_path=%')
                 ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER function pins search_path');
SELECT is(ARRAY(SELECT sig FROM wib_functions f, pg_extension e
                 WHERE e.extname = 'wib' AND f.prosecdef AND f.proowner <> e.extowner ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER function is owned by the extension owner');

-- The definer-rights functions each role may call.  A new one must be added
-- here on purpose: it runs with the owner's rights for whoever may call it.
SELECT is(ARRAY(SELECT sig FROM wib_functions f
                 WHERE f.prosecdef AND has_function_privilege('wib_app', f.oid, 'EXECUTE') ORDER BY 1),
          ARRAY['wib.agent_leaderboard(date,date,text,integer)',
                'wib.audit(text,text,text,jsonb,jsonb)',
                'wib.crm_callback(text,text,text,text)',
                'wib.crm_config_set(text,jsonb)',
                'wib.crm_connect(text,text,text)',
                'wib.crm_contact_lookup(text)',
                'wib.crm_disconnect(text)',
                'wib.crm_mappings(text)',
                'wib.crm_mappings_set(text,jsonb)',
                'wib.crm_sync_now(text,text)',
                'wib.crm_webhook(text,text,text,bytea,jsonb)',
                'wib.crm_webhook_response(text,text,text,bytea,jsonb)',
                'wib.crm_webhook_secret(text)',
                'wib.crm_webhook_secret_rotate(text,interval)',
                'wib.current_plan()',
                'wib.device_register(text,text,text)',
                'wib.device_revoke(uuid)',
                'wib.emit_event(text,jsonb)',
                'wib.export_create(text,text,jsonb,text)',
                'wib.export_download_token(uuid,interval)',
                'wib.export_download_url(uuid,interval)',
                'wib.export_open(text)',
                'wib.export_prepare(text,text,jsonb)',
                'wib.export_read(uuid,bigint,integer)',
                'wib.export_status(uuid)',
                'wib.idempotency_begin(text,jsonb)',
                'wib.idempotency_finish(text,jsonb)',
                'wib.ivr_menu_create(jsonb)',
                'wib.ivr_menu_delete(uuid)',
                'wib.ivr_menu_update(uuid,jsonb)',
                'wib.ivr_number_add(text,text,text,uuid)',
                'wib.ivr_number_assign(uuid,uuid)',
                'wib.ivr_number_order(text,text,uuid,text)',
                'wib.ivr_number_release(uuid)',
                'wib.ivr_number_search(text,text,integer)',
                'wib.ivr_webhook(text,bytea,text,text)',
                'wib.ml_predict(text,text,text,text)',
                'wib.ml_train(text)',
                'wib.push_send(text,jsonb)',
                'wib.push_subscribe(uuid,jsonb,text[])',
                -- (the push deliveries' policy on a Citus cluster: it answers for
                -- the user and organization in context only)
                'wib.push_subscription_visible(uuid,uuid)',
                'wib.push_test(uuid)',
                'wib.push_unsubscribe(uuid)',
                'wib.qr_auth_claim(text)',
                'wib.qr_auth_create(text)',
                'wib.qr_auth_verify(text,uuid)',
                'wib.sentiment_trends(date,date,text)',
                'wib.vapid_public_key()',
                'wib.webhook_rotate_secret(uuid)',
                'wib.webhook_subscribe(text,text,text[],text,integer)',
                'wib.webhook_test(uuid)',
                'wib.webhook_unsubscribe(uuid)',
                'wib.webhook_update(uuid,jsonb)'],
          'wib_app may call exactly the SECURITY DEFINER functions of its API');
SELECT is(ARRAY(SELECT sig FROM wib_functions f
                 WHERE f.prosecdef AND has_function_privilege('wib_admin', f.oid, 'EXECUTE')
                   AND NOT has_function_privilege('wib_app', f.oid, 'EXECUTE') ORDER BY 1),
          ARRAY['wib.analytics_reschedule()',
                'wib.crm_provider_set(text,jsonb)',
                'wib.crm_providers_show()',
                'wib.crm_sync(uuid)',
                'wib.deliver_due(integer)',
                'wib.distribute()',
                'wib.export_expire()',
                'wib.export_storage_configure(jsonb)',
                'wib.export_uploads_sweep()',
                'wib.ml_train_org(uuid,text)',
                'wib.organization_create(text,text)',
                'wib.organization_update(uuid,jsonb)',
                'wib.purge_expired()',
                'wib.run_export_jobs(integer)',
                'wib.run_nightly(date)',
                'wib.run_nightly_range(date,date)',
                'wib.sentiment_backfill()',
                'wib.telnyx_configure(jsonb)',
                'wib.vapid_configure(text,boolean)',
                'wib.vault_rotate()'],
          'wib_admin may call exactly these SECURITY DEFINER functions besides the application''s');

SELECT is(ARRAY(SELECT sig FROM wib_functions f
                 WHERE f.prosrc ~ 'wib\.act_as\('
                   AND NOT ('wib.org_id=' = ANY (f.proconfig) AND 'wib.user_id=' = ANY (f.proconfig)) ORDER BY 1),
          '{}'::text[], 'every function that acts as a tenant restores the caller''s context on return');

-- Tables applications may write: the platform's own records.  Everything else
-- wib keeps for them is written through the API.
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'wib'::regnamespace AND c.relkind IN ('r', 'p')
                   AND (has_table_privilege('wib_app', c.oid, 'INSERT') OR has_table_privilege('wib_app', c.oid, 'UPDATE')
                        OR has_table_privilege('wib_app', c.oid, 'DELETE')
                        OR has_any_column_privilege('wib_app', c.oid, 'INSERT')
                        OR has_any_column_privilege('wib_app', c.oid, 'UPDATE'))
                 ORDER BY 1),
          ARRAY['wib.ai_summaries', 'wib.call_outcomes', 'wib.calls', 'wib.recordings', 'wib.scorecards', 'wib.users'],
          'applications write only the platform''s own records directly');
SELECT ok(NOT has_column_privilege('wib_admin', 'wib.scheduled_jobs', 'command', 'UPDATE')
          AND NOT has_column_privilege('wib_admin', 'wib.scheduled_jobs', 'run_as', 'UPDATE')
          AND NOT has_table_privilege('wib_admin', 'wib.scheduled_jobs', 'INSERT')
          AND has_column_privilege('wib_admin', 'wib.scheduled_jobs', 'run_every', 'UPDATE'),
          'operators change when jobs run, never what they run or as whom');
SELECT ok(NOT has_column_privilege('wib_admin', 'wib.webhook_subscriptions', 'secret', 'SELECT')
          AND NOT has_column_privilege('wib_app', 'wib.webhook_subscriptions', 'secret', 'SELECT')
          AND NOT has_column_privilege('wib_admin', 'wib.webhook_subscriptions', 'previous_secret', 'SELECT')
          AND NOT has_column_privilege('wib_app', 'wib.webhook_subscriptions', 'previous_secret', 'SELECT'),
          'nobody but the owner reads signing secrets, even sealed');
-- Nothing that opens the vault or signs tokens is granted: only definer-rights functions call them.
SELECT is(ARRAY(SELECT f.sig FROM wib_functions f
                 WHERE f.sig ~ '^wib\.(vault_(seal|open)|token_(sign|verify)|webhook_(claim|secrets)|export_token_)'
                   AND (has_function_privilege('wib_app', f.oid, 'EXECUTE') OR has_function_privilege('wib_admin', f.oid, 'EXECUTE'))
                 ORDER BY 1),
          '{}'::text[], 'no role may open the vault, sign tokens or claim secrets');
SELECT ok(NOT has_column_privilege('wib_app', 'wib.push_subscriptions', 'auth_key', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.vapid_keys', 'SELECT')
          AND NOT has_table_privilege('wib_admin', 'wib.vapid_keys', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.qr_auth_nonces', 'SELECT')
          AND NOT has_column_privilege('wib_app', 'wib.qr_auth_sessions', 'nonce_hash', 'SELECT'),
          'nobody but the owner reads push auth secrets, VAPID keys or QR nonce hashes');
SELECT ok(NOT has_column_privilege('wib_admin', 'wib.telnyx_config', 'api_key', 'SELECT')
          AND NOT has_column_privilege('wib_app', 'wib.telnyx_config', 'api_key', 'SELECT')
          AND has_column_privilege('wib_admin', 'wib.telnyx_config', 'api_url', 'SELECT'),
          'nobody but the owner reads the Telnyx API key');

SELECT ok(NOT has_table_privilege('wib_app', 'wib.crm_tokens', 'SELECT')
          AND NOT has_table_privilege('wib_admin', 'wib.crm_tokens', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.crm_oauth_states', 'SELECT')
          AND NOT has_column_privilege('wib_admin', 'wib.crm_providers', 'client_secret', 'SELECT'),
          'nobody but the owner reads CRM tokens, OAuth codes or client secrets');
SELECT ok(NOT has_column_privilege('wib_admin', 'wib.export_storage', 'secret_access_key', 'SELECT')
          AND NOT has_column_privilege('wib_app', 'wib.export_storage', 'secret_access_key', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.export_storage', 'SELECT'),
          'nobody but the owner reads the object storage secret');

SELECT * FROM finish();
ROLLBACK;
