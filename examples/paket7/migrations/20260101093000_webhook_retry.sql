-- Webhook retry and dead letter queue (seed "Billing System Deployment", migration 3 of 3):
-- every Stripe webhook event is stored before processing; failures are retried with exponential
-- backoff (1 s doubling to 1 h, at most 5 attempts) by the webhook-retry job, then moved to the
-- dead letter queue for a human to replay.
SET lock_timeout = '5s';

CREATE TABLE webhook_events (
  id               text PRIMARY KEY,              -- Stripe event id (evt_...)
  type             text NOT NULL,                 -- e.g. invoice.payment_failed
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'processed', 'failed', 'dead')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  received_at      timestamptz NOT NULL DEFAULT now(),
  processed_at     timestamptz
);

-- The retry job's query: due events that are pending or failed, oldest first.
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at)
  WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_events_type_received_idx ON webhook_events (type, received_at DESC);

CREATE TABLE webhook_dead_letter_queue (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id     text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  type         text NOT NULL,
  payload      jsonb NOT NULL,
  attempts     integer NOT NULL,
  last_error   text,
  failed_at    timestamptz NOT NULL DEFAULT now(),
  replayed_at  timestamptz,
  replayed_by  text
);

-- An event waits in the queue at most once until it is replayed.
CREATE UNIQUE INDEX webhook_dead_letter_queue_open_event_idx ON webhook_dead_letter_queue (event_id)
  WHERE replayed_at IS NULL;
CREATE INDEX webhook_dead_letter_queue_failed_at_idx ON webhook_dead_letter_queue (failed_at DESC);

-- Next retry time after `attempts` failures: 1 s * 2^attempts, capped at 1 hour.
CREATE FUNCTION webhook_next_attempt_at(attempts integer) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT now() + least(interval '1 hour', interval '1 second' * power(2, attempts));
$$;

-- Webhook payloads hold customer data: RLS on, and no policy for application roles, so only the
-- service role (which bypasses RLS) reads and writes these tables.
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_dead_letter_queue ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE webhook_events IS 'Stripe webhook events with retry state (Paket 7)';
COMMENT ON TABLE webhook_dead_letter_queue IS 'Webhook events that failed every retry (Paket 7)';
