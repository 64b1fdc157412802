-- The grace-period cleanup job finds past-due subscriptions by period end. subscription is busy,
-- so the index is built CONCURRENTLY: no write lock, and therefore in its own file, outside a
-- transaction (runbook migrate runs this file statement by statement).
SET lock_timeout = '5s';

CREATE INDEX CONCURRENTLY IF NOT EXISTS subscription_past_due_period_end_idx
  ON subscription (period_end)
  WHERE status = 'past_due';
