-- Outside every read model: replay rebuilds read models, never this. A delivery is decided
-- once (its id is derived from the event, the channel and the target, so a redelivered or
-- replayed event decides nothing new) and sent until it succeeds, is skipped, or gives up.
CREATE TABLE deliveries (
    delivery_id     uuid PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- email: the recipient's NIP (the address is looked up when sending); webhook: its id
    target          text NOT NULL,
    event_id        uuid NOT NULL,
    kind            text NOT NULL,
    -- email: {"subject", "text"}; webhook: the structured CloudEvent to POST
    body            jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'PENDING'
                    CHECK (state IN ('PENDING', 'SENT', 'SKIPPED', 'GAVE_UP')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- a sender holds a delivery until then; a crash lets the lease run out and it is sent
    -- again, with the same delivery id, so the receiver can tell
    leased_until    timestamptz,
    first_failed_at timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX deliveries_of_target ON deliveries (channel, target, created_at);

-- every attempt, for the delivery log of a webhook and for audit
CREATE TABLE delivery_attempts (
    delivery_id  uuid NOT NULL REFERENCES deliveries,
    attempt      integer NOT NULL,
    attempted_at timestamptz NOT NULL,
    succeeded    boolean NOT NULL,
    status_code  integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);

-- a webhook's signing secret: never in an event, never on a topic
CREATE TABLE webhook_secrets (
    webhook_id text PRIMARY KEY,
    secret     text NOT NULL
);
