-- wib 0.1.0 to 0.2.0, last step: data moved into the shape of 0.2.0.

-- Every signing secret of 0.1.0, and every previous secret still on record,
-- sealed by the vault for its subscription (the key ring is loaded here, as
-- for any session: wib.keys, wib.key_file or the generated key file).  The
-- seal is not a change of the subscription: updated_at stays.
ALTER TABLE wib.webhook_subscriptions DISABLE TRIGGER webhook_subscriptions_touch;
UPDATE wib.webhook_subscriptions s
   SET secret = wib.vault_seal(s.secret_plaintext, s.organization_id, 'webhook_subscriptions.secret', s.id::text),
       previous_secret = wib.vault_seal(s.previous_secret_plaintext, s.organization_id,
                                        'webhook_subscriptions.previous_secret', s.id::text);
ALTER TABLE wib.webhook_subscriptions ENABLE TRIGGER webhook_subscriptions_touch;
ALTER TABLE wib.webhook_subscriptions DROP COLUMN secret_plaintext, DROP COLUMN previous_secret_plaintext,
    ALTER COLUMN secret SET NOT NULL;
-- Dropping a column leaves its values in the table's pages, in the rows the
-- UPDATE above replaced and in the new ones alike: rewriting the table
-- (CLUSTER, which empties dropped columns) leaves no plaintext in it.
CLUSTER wib.webhook_subscriptions USING webhook_subscriptions_pkey;
ALTER TABLE wib.webhook_subscriptions SET WITHOUT CLUSTER;

-- The counterparty number of every call recorded before the update (the
-- trigger keeps it from now on).
SELECT wib.contact_numbers_refresh(o.id) FROM wib.organizations o;

-- The analytics totals computed once from the calls, outcomes and scores of 0.1.0;
-- from now on the nightly job keeps them up to date from wib.analytics_changes.
SELECT wib.analytics_totals_refresh(true);
