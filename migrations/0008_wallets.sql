-- Agent wallets (issue #6): wallets, their versioned policies, spends and the audit log, and the
-- spend-window projection the policy engine counts budgets with.

-- Jobs that must not run before a time (an approval's deadline): the dispatcher delays them.
ALTER TABLE outbox ADD COLUMN run_after timestamptz;

-- An EVM wallet an agent spends from. Its key is derived like a deposit address, with coffer's
-- own NEAR account as the predecessor and `wallet-<id>` as the path; only the signer holds key
-- material. Its money is in the ledger as wallets:<id>:available and wallets:<id>:held.
CREATE TABLE wallets (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  owner_user_id text NOT NULL REFERENCES users (id),
  chain text NOT NULL CHECK (chain = 'ethereum'),
  address text COLLATE "C" NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  predecessor text NOT NULL,
  path text NOT NULL,
  webhook_url text CHECK (webhook_url ~ '^https?://' AND length(webhook_url) <= 2000),
  frozen_at timestamptz,
  frozen_reason text,
  locked_down_at timestamptz,
  -- The next nonce coffer will sign with; the chain's pending count is its floor.
  next_nonce bigint CHECK (next_nonce >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (locked_down_at IS NULL OR frozen_at IS NOT NULL)
);

-- Money sent to a wallet's address arrives like a deposit (the EVM indexer watches wallets
-- too), into wallets:<id>:pending and, when final, wallets:<id>:available; the deposit view
-- names the wallet instead of a user for those.
ALTER TABLE deposits ADD COLUMN wallet_id text COLLATE "C";

-- Agent keys act for exactly one wallet; no other key names one.
ALTER TABLE api_keys ADD COLUMN wallet_id text COLLATE "C" REFERENCES wallets (id);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_wallet CHECK ((role = 'agent') = (wallet_id IS NOT NULL));
CREATE INDEX api_keys_wallet ON api_keys (wallet_id) WHERE wallet_id IS NOT NULL;

-- Every version of every policy, kept: a spend names the version that judged it.
CREATE TABLE wallet_policies (
  wallet_id text COLLATE "C" NOT NULL REFERENCES wallets (id),
  version integer NOT NULL CHECK (version >= 1),
  policy jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (wallet_id, version)
);

CREATE TABLE spends (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^spd_[a-z0-9]{20}$'),
  wallet_id text COLLATE "C" NOT NULL REFERENCES wallets (id),
  idempotency_key text COLLATE "C" NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_hash text NOT NULL,
  requested_by text NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  recipient text COLLATE "C" NOT NULL CHECK (recipient ~ '^0x[0-9a-fA-F]{40}$'),
  -- The transaction: `to` (the recipient, or the token contract) and its calldata.
  tx_to text COLLATE "C" NOT NULL CHECK (tx_to ~ '^0x[0-9a-fA-F]{40}$'),
  tx_value numeric(78, 0) NOT NULL CHECK (tx_value >= 0),
  tx_data text NOT NULL CHECK (tx_data ~ '^0x([0-9a-fA-F]{2})*$'),
  status text NOT NULL CHECK (status IN ('pending', 'awaiting_approval', 'allowed', 'submitted', 'confirmed', 'rejected', 'expired', 'failed')),
  code text,
  violations jsonb NOT NULL DEFAULT '[]',
  policy_version integer,
  approval_deadline timestamptz,
  decided_by text,
  gas_limit numeric(78, 0),
  max_fee_per_gas numeric(78, 0),
  max_priority_fee_per_gas numeric(78, 0),
  gas_reserve numeric(78, 0),
  hold_entry_id bigint,
  nonce bigint,
  tx_hash text,
  raw_tx text,
  fee numeric(78, 0),
  settled_entry_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (wallet_id, idempotency_key),
  CHECK (status NOT IN ('rejected', 'expired', 'failed') OR code IS NOT NULL),
  CHECK (status NOT IN ('allowed', 'submitted', 'confirmed') OR hold_entry_id IS NOT NULL)
);
CREATE INDEX spends_wallet ON spends (wallet_id, created_at DESC);

-- The audit log of wallets: policy changes, freezes, lockdowns and every spend status.
CREATE TABLE wallet_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  wallet_id text COLLATE "C" NOT NULL REFERENCES wallets (id),
  kind text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
  spend_id text COLLATE "C" REFERENCES spends (id),
  actor text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX wallet_events_wallet ON wallet_events (wallet_id, id);

-- History is not rewritten: policies and the audit log are append-only, like the journal.
CREATE FUNCTION wallet_history_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'a policy change is a new version; an event is never edited';
END $$;
CREATE TRIGGER wallet_policies_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON wallet_policies
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_history_forbid_change();
CREATE TRIGGER wallet_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON wallet_events
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_history_forbid_change();
REVOKE UPDATE, DELETE, TRUNCATE ON wallet_policies, wallet_events FROM PUBLIC;

-- The spend-window projection: one row per `spend.hold` journal entry (the amount a spend
-- reserved, at the time it was allowed), marked when a `spend.release` reverses it. Budgets in
-- any window are sums over these rows. It is written in the same transaction as the hold, so
-- concurrent spends cannot pass a limit together, and `coffer projections replay spend-windows`
-- rebuilds it from the journal.
CREATE TABLE spend_window_entries (
  hold_entry_id bigint PRIMARY KEY,
  wallet_id text COLLATE "C" NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  spent_at timestamptz NOT NULL,
  released_entry_id bigint
);
CREATE INDEX spend_window_entries_wallet ON spend_window_entries (wallet_id, spent_at);
