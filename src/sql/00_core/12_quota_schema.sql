-- Quotas that hold at every isolation level: taking one unit of a limit first
-- updates the organization's row here, so two transactions taking the same
-- limit at once are serialized (READ COMMITTED waits, REPEATABLE READ and
-- SERIALIZABLE fail the second with 40001), then counts what is in use.

CREATE TABLE wib.quota_locks (
    organization_id uuid   NOT NULL,
    limit_name      text   NOT NULL,
    takes           bigint NOT NULL DEFAULT 0,
    CONSTRAINT quota_locks_pkey PRIMARY KEY (organization_id, limit_name),
    CONSTRAINT quota_locks_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE
);
COMMENT ON TABLE wib.quota_locks IS
    'Internal: one row per organization and plan limit, updated by every wib.quota_take() so that concurrent takes of one quota serialize at any isolation level; takes counts them.';
SELECT wib.make_tenant_table('wib.quota_locks');
