-- The event store of one service, in that service's own schema (search_path is set to it).

-- One row per stream: its head, locked by each append (optimistic concurrency) and the
-- previous hash of the next event, so an append never reads the events table.
CREATE TABLE streams (
    stream_id   text PRIMARY KEY,
    subject     text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    last_hash   char(64) NOT NULL
);

CREATE TABLE events (
    -- commit order: (transaction_id, position). A reader that stops below the oldest
    -- running transaction (pg_snapshot_xmin) never passes an event that commits later.
    position        bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid NOT NULL UNIQUE,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL CHECK (stream_version >= 1),
    event_type      text NOT NULL,
    schema_version  integer NOT NULL,
    subject         text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text NOT NULL,
    correlation_id  text NOT NULL,
    causation_id    text,
    previous_hash   char(64) NOT NULL,
    hash            char(64) NOT NULL,
    -- json, not jsonb: the stored text is exactly what was hashed, forever
    payload         json NOT NULL,
    PRIMARY KEY (stream_id, stream_version)
);
CREATE INDEX events_in_commit_order ON events (transaction_id, position);

-- How far each relay has published, in commit order.
CREATE TABLE relay_checkpoints (
    relay           text PRIMARY KEY,
    transaction_id  xid8 NOT NULL,
    position        bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
