-- The event catalogue: what each platform event means and an example of it.
-- Features register their events here; delivery channels subscribe to them.

CREATE TABLE wib.event_types (
    event_type  text  NOT NULL,
    description text  NOT NULL,
    example     jsonb NOT NULL,
    CONSTRAINT event_types_pkey PRIMARY KEY (event_type),
    CONSTRAINT event_types_name_check CHECK (event_type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$')
);
COMMENT ON TABLE wib.event_types IS
    'The catalogue of platform events, with an example payload of each; custom.* types are also accepted by wib.emit_event.';
