-- Answers to POSTs sent with an Idempotency-Key, in the service's own schema (search_path is
-- set to it). Numbered 0500 because schema_migrations is shared with the event store's
-- 0001..0499: the two lists are applied separately and must never share a number.

CREATE TABLE idempotency_keys (
    -- keys are scoped per caller (the token's sub), so two callers never see each other's answers
    caller        text NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  char(64) NOT NULL,
    state         text NOT NULL CHECK (state IN ('in_progress', 'done')),
    status        smallint,
    body          bytea,
    content_type  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (caller, key),
    CHECK (state = 'in_progress' OR (status IS NOT NULL AND body IS NOT NULL))
);

-- the periodic purge deletes by age
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
