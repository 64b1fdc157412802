-- Paket 7 base schema: the application's users, organizations, memberships, subscriptions and
-- per-user usage statistics, as they stand before the usage-billing release.
SET lock_timeout = '5s';

CREATE TABLE "user" (
  id          text PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organization (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  slug        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE member (
  organization_id text NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
  user_id         text NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  role            text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX member_user_id_idx ON member (user_id);

-- reference_id is a user id or an organization id (no foreign key: it may be either).
CREATE TABLE subscription (
  id            text PRIMARY KEY,
  plan          text NOT NULL,
  reference_id  text NOT NULL,
  status        text NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled', 'incomplete')),
  seats         integer CHECK (seats IS NULL OR seats > 0),
  period_start  timestamptz,
  period_end    timestamptz,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_reference_id_idx ON subscription (reference_id);
CREATE INDEX subscription_status_idx ON subscription (status);

CREATE TABLE user_stats (
  user_id             text PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
  total_manual_executions integer NOT NULL DEFAULT 0,
  total_api_calls     integer NOT NULL DEFAULT 0,
  total_cost          numeric(12, 4) NOT NULL DEFAULT 0,
  last_active         timestamptz NOT NULL DEFAULT now()
);
