-- Billing audit log (seed "Billing System Deployment", migration 1 of 3): an append-only record of
-- every billing change (plan changes, usage-limit changes, invoices, Stripe webhook effects), so
-- support and finance can answer "who changed what, when, and why".
SET lock_timeout = '5s';

CREATE TABLE billing_audit_log (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id  text REFERENCES organization (id) ON DELETE SET NULL,
  user_id          text REFERENCES "user" (id) ON DELETE SET NULL,
  -- A user id, or 'stripe-webhook', 'system', 'backfill'.
  actor            text NOT NULL,
  action           text NOT NULL CHECK (action IN (
                     'subscription.created', 'subscription.updated', 'subscription.canceled',
                     'usage_limit.updated', 'invoice.paid', 'invoice.payment_failed',
                     'grace_period.started', 'grace_period.resolved', 'webhook.dead_lettered')),
  entity_type      text NOT NULL,
  entity_id        text,
  before           jsonb,
  after            jsonb,
  stripe_event_id  text,
  request_id       text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX billing_audit_log_org_created_idx ON billing_audit_log (organization_id, created_at DESC);
CREATE INDEX billing_audit_log_user_created_idx ON billing_audit_log (user_id, created_at DESC);
CREATE INDEX billing_audit_log_entity_idx ON billing_audit_log (entity_type, entity_id);
-- A Stripe event is logged once even when Stripe delivers it twice.
CREATE UNIQUE INDEX billing_audit_log_stripe_event_idx ON billing_audit_log (stripe_event_id, action)
  WHERE stripe_event_id IS NOT NULL;

-- Append-only: corrections are new rows, never edits.
CREATE FUNCTION billing_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'billing_audit_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER billing_audit_log_append_only
  BEFORE UPDATE OR DELETE ON billing_audit_log
  FOR EACH ROW EXECUTE FUNCTION billing_audit_log_append_only();

-- Row level security: organization owners and admins read their organization's entries; the
-- application (table owner / service role, which bypasses RLS) writes them.
ALTER TABLE billing_audit_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY billing_audit_log_admin_read ON billing_audit_log
  FOR SELECT
  USING (organization_id IN (
    SELECT m.organization_id FROM member m
     WHERE m.user_id = current_setting('app.user_id', true)
       AND m.role IN ('owner', 'admin')));

CREATE POLICY billing_audit_log_own_read ON billing_audit_log
  FOR SELECT
  USING (user_id = current_setting('app.user_id', true));

COMMENT ON TABLE billing_audit_log IS 'Append-only audit trail of billing changes (Paket 7)';
