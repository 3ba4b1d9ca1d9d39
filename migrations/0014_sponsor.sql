-- ERC-4337 sponsorship (issue #24): the sponsor service's policy, every decision it took, and
-- the alerts module's memory of which conditions it already reported.

-- API keys with role `sponsor` may only ask the paymaster service for signatures.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('user', 'agent', 'auditor', 'operator', 'sponsor'));

-- The sponsorship policy, versioned: the newest row is in force; older ones are history.
CREATE TABLE sponsor_policies (
  version serial PRIMARY KEY,
  document jsonb NOT NULL,
  set_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per pm_getPaymasterStubData / pm_getPaymasterData answer. `signed` rows count against
-- the policy's caps: at max_cost until the indexer sees the operation included (actual_gas_cost
-- set), and not at all once valid_until passed without inclusion (the signature is dead).
CREATE TABLE sponsor_decisions (
  id bigserial PRIMARY KEY,
  decided_at timestamptz NOT NULL DEFAULT now(),
  method text NOT NULL CHECK (method IN ('pm_getPaymasterStubData', 'pm_getPaymasterData')),
  outcome text NOT NULL CHECK (outcome IN ('stub', 'signed', 'refused')),
  reason text CHECK ((outcome = 'refused') = (reason IS NOT NULL)),
  message text CHECK (length(message) <= 500),
  sender text COLLATE "C" NOT NULL CHECK (sender ~ '^0x[0-9a-f]{40}$'),
  nonce numeric(78, 0) NOT NULL,
  policy_version integer REFERENCES sponsor_policies (version),
  api_key_id text COLLATE "C",
  max_cost numeric(78, 0) NOT NULL DEFAULT 0,
  valid_until timestamptz,
  paymaster_hash text,
  actual_gas_cost numeric(78, 0),
  included_tx_hash text,
  included_at timestamptz,
  CHECK ((outcome = 'signed') = (valid_until IS NOT NULL))
);
CREATE INDEX sponsor_decisions_signed_by_sender ON sponsor_decisions (sender, decided_at) WHERE outcome = 'signed';
CREATE INDEX sponsor_decisions_signed ON sponsor_decisions (decided_at) WHERE outcome = 'signed';
CREATE INDEX sponsor_decisions_by_op ON sponsor_decisions (sender, nonce) WHERE outcome = 'signed';

-- Conditions the alerts module reported and that still hold: an alert fires when its condition
-- appears, not on every pass that sees it; the row goes when the condition clears.
CREATE TABLE alerts_active (
  key text COLLATE "C" PRIMARY KEY CHECK (length(key) <= 300),
  type text NOT NULL,
  detail jsonb NOT NULL,
  fired_at timestamptz NOT NULL DEFAULT now()
);
