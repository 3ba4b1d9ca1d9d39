-- Users and their deposit addresses (issue #3). An address is derived once from the user's NEAR
-- account and a path, stored, and stable forever: unique per user and chain, and unique as an
-- address, so two users can never share one.
CREATE TABLE users (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
  near_account_id text COLLATE "C" NOT NULL UNIQUE CHECK (length(near_account_id) BETWEEN 2 AND 64),
  is_sweep_enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deposit_addresses (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text COLLATE "C" NOT NULL REFERENCES users (id),
  chain text NOT NULL CHECK (chain IN ('ethereum', 'bitcoin', 'solana', 'near')),
  network text NOT NULL CHECK (network IN ('mainnet', 'testnet', 'regtest')),
  predecessor text NOT NULL,
  path text NOT NULL,
  public_key text CHECK (public_key ~ '^[0-9a-f]+$'),
  address text COLLATE "C" NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, chain)
);

-- A deposit address never changes once given out.
CREATE TRIGGER deposit_addresses_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON deposit_addresses
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

-- `user` keys see only their own user.
ALTER TABLE api_keys ADD COLUMN user_id text COLLATE "C" REFERENCES users (id);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_user_role CHECK ((role = 'user') = (user_id IS NOT NULL));
