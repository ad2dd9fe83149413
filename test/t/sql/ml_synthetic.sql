-- Synthetic call histories for the contact models' tests (test/pgtap/45_ml.sql,
-- test/t/041_ml_sklearn.pl): pg_temp.ml_gen(org, base, n, days, signal, seed)
-- writes them as the organization, in the caller's transaction, and returns
-- the number of calls.
-- n contacts (numbers +1 555 base + 1 ..., in three spellings) calling over
-- the `days` days before today, about once in 12 days, each call with a
-- sentiment score (70%) and an outcome (half of them, and every success).
-- With signal, each contact has a sentiment level s and an inbound share q,
-- a call succeeds with probability 1 / (1 + exp(2.5 - 2.5 s - 2.5 (2q - 1))),
-- and a contact stops calling after a lifetime that is shorter for low s.
-- Without, every contact calls throughout and one call in ten succeeds.
CREATE OR REPLACE FUNCTION pg_temp.ml_gen(org uuid, base integer, n integer, days integer, signal boolean, seed float8) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    today timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    made  bigint;
BEGIN
    PERFORM setseed(seed);
    PERFORM wib.set_context(org, 'generator', true);
    INSERT INTO wib.users (organization_id, id, name, role)
    SELECT org, 'agent-' || a, 'Agent ' || a, 'agent' FROM generate_series(1, 5) a;
    CREATE TEMP TABLE gen_contacts ON COMMIT DROP AS
    SELECT i, s, q, CASE WHEN signal THEN f ELSE 0 END AS first_day,
           CASE WHEN signal THEN f + (40 + floor(random() * 260 * (0.4 + 0.6 * (s + 0.8) / 1.6)))::int
                ELSE days - 1 END AS last_day
      FROM (SELECT i, random() * 1.6 - 0.8 AS s, random() AS q, floor(random() * days / 3)::int AS f
              FROM generate_series(1, n) i) c;
    CREATE TEMP TABLE gen_calls ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, c.i, d, random() < c.q AS inbound,
           greatest(-1, least(1, c.s + (random() + random() + random() - 1.5) * 0.4)) AS sentiment,
           random() < CASE WHEN signal THEN 1 / (1 + exp(2.5 - 2.5 * c.s - 2.5 * (2 * c.q - 1))) ELSE 0.1 END AS success,
           random() < 0.5 AS has_outcome
      FROM gen_contacts c, generate_series(c.first_day, least(c.last_day, days - 1)) d
     WHERE random() < 0.08;
    INSERT INTO wib.calls (organization_id, id, agent_id, direction, from_number, to_number, status, started_at, duration_seconds)
    SELECT org, g.id, 'agent-' || (1 + floor(random() * 5))::int,
           CASE WHEN g.inbound THEN 'inbound' ELSE 'outbound' END,
           CASE WHEN g.inbound THEN nn.num ELSE '+15550100100' END,
           CASE WHEN g.inbound THEN '+15550100100' ELSE nn.num END,
           'completed', today - days * interval '1 day' + g.d * interval '1 day' + random() * interval '20 hours',
           30 + floor(random() * 600)::int
      FROM gen_calls g
     CROSS JOIN LATERAL (SELECT lpad((base + g.i)::text, 7, '0') AS digits) d
     CROSS JOIN LATERAL (SELECT CASE (g.i + g.d) % 3
                                WHEN 0 THEN format('(555) %s-%s', substr(d.digits, 1, 3), substr(d.digits, 4))
                                WHEN 1 THEN format('555.%s.%s', substr(d.digits, 1, 3), substr(d.digits, 4))
                                ELSE '+1 555 ' || d.digits END AS num) nn;
    GET DIAGNOSTICS made = ROW_COUNT;
    INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
    SELECT org, g.id, round(g.sentiment::numeric, 3) FROM gen_calls g WHERE random() < 0.7;
    INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
    SELECT org, g.id, CASE WHEN g.success THEN 'sale' ELSE 'not_interested' END
      FROM gen_calls g WHERE g.success OR g.has_outcome;
    DROP TABLE gen_contacts, gen_calls;
    RETURN made;
END
$$;
