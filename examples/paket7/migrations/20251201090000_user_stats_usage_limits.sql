-- Usage-based billing: per-user limits and billing periods (seed "Usage-Based Billing Deployment
-- Guide", phase 1). Every existing row gets the free tier's $5 default; the usage-limits backfill
-- (examples/paket7/backfills/usage-limits.yml) then sets paid subscribers' limits.
SET lock_timeout = '5s';

ALTER TABLE user_stats ADD COLUMN current_usage_limit numeric(12, 2) NOT NULL DEFAULT 5;
ALTER TABLE user_stats ADD COLUMN usage_limit_set_by text;
ALTER TABLE user_stats ADD COLUMN usage_limit_updated_at timestamptz;
ALTER TABLE user_stats ADD COLUMN billing_period_start timestamptz;
ALTER TABLE user_stats ADD COLUMN billing_period_end timestamptz;
ALTER TABLE user_stats ADD COLUMN current_period_cost numeric(12, 4) NOT NULL DEFAULT 0;
