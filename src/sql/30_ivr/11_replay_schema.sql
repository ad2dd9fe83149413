-- Telnyx callbacks accepted within the signature's time window: a callback
-- signed once is accepted once (an attacker who captured one cannot replay it).

CREATE TABLE wib.ivr_callback_signatures (
    signature_hash bytea       NOT NULL,
    accepted_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_callback_signatures_pkey PRIMARY KEY (signature_hash)
);
CREATE INDEX ivr_callback_signatures_accepted_idx ON wib.ivr_callback_signatures (accepted_at);
COMMENT ON TABLE wib.ivr_callback_signatures IS
    'Internal: SHA-256 of the entry point and signature of each accepted Telnyx callback, kept while its timestamp could still verify (wib.telnyx_timestamp_tolerance), so a replayed callback is refused (WB306).';
