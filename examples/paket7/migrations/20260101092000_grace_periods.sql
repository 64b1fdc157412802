-- Grace periods (seed "Billing System Deployment", migration 2 of 3): when a payment fails or a
-- usage limit is exceeded, the organization keeps access until ends_at; the daily
-- grace-period-cleanup job expires the ones that were not resolved.
SET lock_timeout = '5s';

CREATE TABLE grace_periods (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  text NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
  subscription_id  text REFERENCES subscription (id) ON DELETE CASCADE,
  reason           text NOT NULL CHECK (reason IN ('payment_failed', 'usage_limit_exceeded', 'seat_limit_exceeded')),
  started_at       timestamptz NOT NULL DEFAULT now(),
  ends_at          timestamptz NOT NULL,
  resolved_at      timestamptz,
  resolution       text CHECK (resolution IN ('paid', 'upgraded', 'expired', 'waived')),
  notified_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT grace_periods_ends_after_start CHECK (ends_at > started_at),
  CONSTRAINT grace_periods_resolution_when_resolved CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);

-- At most one open grace period per organization and reason.
CREATE UNIQUE INDEX grace_periods_one_open_idx ON grace_periods (organization_id, reason)
  WHERE resolved_at IS NULL;
-- The cleanup job scans open grace periods by end time.
CREATE INDEX grace_periods_open_ends_at_idx ON grace_periods (ends_at) WHERE resolved_at IS NULL;
CREATE INDEX grace_periods_subscription_idx ON grace_periods (subscription_id);

ALTER TABLE grace_periods ENABLE ROW LEVEL SECURITY;

-- Members see their organization's grace periods (the app shows a banner); only the service
-- role (which bypasses RLS) creates and resolves them.
CREATE POLICY grace_periods_member_read ON grace_periods
  FOR SELECT
  USING (organization_id IN (
    SELECT m.organization_id FROM member m WHERE m.user_id = current_setting('app.user_id', true)));

COMMENT ON TABLE grace_periods IS 'Access kept after a failed payment or exceeded limit, until ends_at (Paket 7)';
