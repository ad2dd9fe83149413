-- Delivery channels that subscribe to events (webhooks; Web Push; ...): each
-- names its fanout and its listener check, from which wib.event_publish and
-- wib.event_listened are generated (wib.event_channel_register).

CREATE TABLE wib.event_channels (
    name        text NOT NULL,
    fanout      text NOT NULL,
    listens     text NOT NULL,
    description text NOT NULL,
    CONSTRAINT event_channels_pkey PRIMARY KEY (name),
    CONSTRAINT event_channels_name_check CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT event_channels_fanout_check CHECK (fanout ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT event_channels_listens_check CHECK (listens ~ '^[a-z][a-z0-9_]*$')
);
COMMENT ON TABLE wib.event_channels IS
    'Internal: the delivery channels events fan out to: wib.<fanout>(org, event_type, payload, event_id) queues an event for the channel''s subscribers, wib.<listens>(org) says cheaply whether the organization has any.';
