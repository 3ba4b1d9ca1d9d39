-- NEAR token storage registrations (issue #21): the hot account's `storage_deposit` on a token for
-- a user's NEAR account, signed and stored before it is sent, like a refill. A process that dies
-- after sending finds its row `submitted` on the next attempt, awaits that transaction's final
-- outcome and books it, instead of reading the account as registered and never booking what the
-- hot account paid.
CREATE TABLE near_storage_deposits (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id text COLLATE "C" NOT NULL,
  contract text COLLATE "C" NOT NULL,
  -- The yoctoNEAR attached (the token's storage_balance_bounds.min when it was signed).
  deposit numeric(78, 0) NOT NULL CHECK (deposit >= 0),
  status text NOT NULL CHECK (status IN ('submitted', 'confirmed', 'failed')),
  status_reason text,
  from_address text COLLATE "C" NOT NULL,
  nonce bigint NOT NULL,
  tx_hash text COLLATE "C" NOT NULL UNIQUE,
  raw_tx text NOT NULL,
  fee numeric(78, 0),
  -- The storage.deposited entry; null for a transaction the chain never took (nothing moved).
  entry_id bigint REFERENCES journal_entries (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  CHECK ((status = 'submitted') = (settled_at IS NULL))
);
-- At most one registration in flight per account and token: a retry finishes it, never sends a second.
CREATE UNIQUE INDEX near_storage_deposits_one_open ON near_storage_deposits (account_id, contract) WHERE status = 'submitted';
