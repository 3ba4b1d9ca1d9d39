-- The relayer (issue #7): relayers with their Defender-style API credentials, the transactions
-- they send, gasless forward requests, and refills of operational balances from the treasury.

-- A relayer is an EOA whose key lives in coffer's encrypted keystore (key_name names it; the key
-- itself is never here). Clients authenticate with api_key + a secret whose SHA-256 is kept
-- (the secret is 32 random bytes, so a plain hash cannot be searched).
CREATE TABLE relayers (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^rl_[a-z0-9]{16}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  chain text NOT NULL CHECK (chain = 'ethereum'),
  chain_id bigint NOT NULL CHECK (chain_id > 0),
  address text COLLATE "C" NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  key_name text NOT NULL UNIQUE,
  api_key text COLLATE "C" NOT NULL UNIQUE,
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  paused boolean NOT NULL DEFAULT false,
  -- Sends that would leave less than this (after pending costs) are refused.
  min_balance numeric(78, 0) NOT NULL DEFAULT 0 CHECK (min_balance >= 0),
  -- No fee above this, whatever the speed or the caller asks.
  gas_price_cap numeric(78, 0) NOT NULL CHECK (gas_price_cap > 0),
  whitelist_receivers text[],
  -- The next nonce to assign; taken under this row's lock, so nonces are gapless.
  next_nonce bigint NOT NULL DEFAULT 0 CHECK (next_nonce >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Access and refresh tokens from /auth/login, by hash; an access token expires (401 Unauthorized).
CREATE TABLE relayer_tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  relayer_id text COLLATE "C" NOT NULL REFERENCES relayers (id),
  kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relayer_tokens_expiry ON relayer_tokens (expires_at);

-- One row per nonce: a replacement (caller's, a fee bump, a NOOP) re-signs the same row, and
-- every signed hash is kept in `hashes` so whichever one is mined is found.
CREATE TABLE relayer_transactions (
  id uuid PRIMARY KEY,
  relayer_id text COLLATE "C" NOT NULL REFERENCES relayers (id),
  nonce bigint NOT NULL CHECK (nonce >= 0),
  -- SHA-256 of the request (or of its Idempotency-Key): a client's retry finds the first send.
  request_hash bytea NOT NULL,
  origin text NOT NULL CHECK (origin IN ('defender', 'relay', 'forwarder')),
  to_address text COLLATE "C" CHECK (to_address ~ '^0x[0-9a-fA-F]{40}$'),
  value numeric(78, 0) NOT NULL CHECK (value >= 0),
  data text NOT NULL CHECK (data ~ '^0x([0-9a-fA-F]{2})*$'),
  gas_limit bigint NOT NULL CHECK (gas_limit >= 21000),
  tx_type text NOT NULL CHECK (tx_type IN ('eip1559', 'legacy')),
  speed text CHECK (speed IN ('safeLow', 'average', 'fast', 'fastest')),
  -- Explicit fees are never repriced (Defender's rule); a speed is.
  fixed_pricing boolean NOT NULL,
  max_fee_per_gas numeric(78, 0) NOT NULL CHECK (max_fee_per_gas > 0),
  max_priority_fee_per_gas numeric(78, 0) NOT NULL CHECK (max_priority_fee_per_gas >= 0 AND max_priority_fee_per_gas <= max_fee_per_gas),
  valid_until timestamptz NOT NULL,
  is_private boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (status IN ('pending', 'sent', 'submitted', 'inmempool', 'mined', 'confirmed', 'failed', 'expired')),
  status_reason text,
  -- Set when the nonce was given to a NOOP: after validUntil (expired) or by a cancel.
  noop_reason text CHECK (noop_reason IN ('expired', 'cancelled')),
  hash text COLLATE "C" NOT NULL CHECK (hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text NOT NULL,
  hashes text[] NOT NULL,
  attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  priced_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  mined_at timestamptz,
  block_number bigint,
  mined_hash text COLLATE "C",
  confirmed_at timestamptz,
  fee numeric(78, 0),
  settled_entry_id bigint REFERENCES journal_entries (id),
  UNIQUE (relayer_id, nonce),
  CHECK (to_address IS NOT NULL OR data <> '0x')
);
CREATE INDEX relayer_transactions_open ON relayer_transactions (relayer_id, nonce) WHERE status IN ('pending', 'sent', 'submitted', 'inmempool', 'mined');
CREATE INDEX relayer_transactions_request ON relayer_transactions (relayer_id, request_hash, created_at);
CREATE INDEX relayer_transactions_created ON relayer_transactions (relayer_id, created_at, id);

-- Gasless: an EIP-712 ForwardRequest signed by a user, relayed through the ERC2771Forwarder's
-- execute by a relayer. A signer's requests go out in nonce order.
CREATE TABLE forward_requests (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^fwd_[a-z0-9]{20}$'),
  forwarder text COLLATE "C" NOT NULL CHECK (forwarder ~ '^0x[0-9a-fA-F]{40}$'),
  signer text COLLATE "C" NOT NULL CHECK (signer ~ '^0x[0-9a-fA-F]{40}$'),
  nonce numeric(78, 0) NOT NULL CHECK (nonce >= 0),
  to_address text COLLATE "C" NOT NULL CHECK (to_address ~ '^0x[0-9a-fA-F]{40}$'),
  value numeric(78, 0) NOT NULL CHECK (value >= 0),
  gas numeric(78, 0) NOT NULL CHECK (gas > 0),
  deadline bigint NOT NULL,
  data text NOT NULL CHECK (data ~ '^0x([0-9a-fA-F]{2})*$'),
  signature text NOT NULL CHECK (signature ~ '^0x[0-9a-fA-F]{130}$'),
  status text NOT NULL CHECK (status IN ('queued', 'relayed', 'executed', 'failed', 'expired')),
  status_reason text,
  relayer_id text COLLATE "C" REFERENCES relayers (id),
  relay_transaction_id uuid REFERENCES relayer_transactions (id),
  submitted_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One live request per (signer, nonce); a failed or expired one frees its nonce for another.
CREATE UNIQUE INDEX forward_requests_live_nonce ON forward_requests (forwarder, signer, nonce) WHERE status IN ('queued', 'relayed', 'executed');
CREATE INDEX forward_requests_queued ON forward_requests (forwarder, signer, nonce) WHERE status = 'queued';

-- What the refill job keeps topped up: an EOA's balance (a relayer, the bundler) or a
-- paymaster's deposit at the ERC-4337 EntryPoint. Below fund_below it is filled to fund_to,
-- never more than daily_cap per UTC day.
CREATE TABLE refill_targets (
  name text COLLATE "C" PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  chain text NOT NULL CHECK (chain = 'ethereum'),
  kind text NOT NULL CHECK (kind IN ('balance', 'entrypoint-deposit')),
  address text COLLATE "C" NOT NULL CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  entry_point text COLLATE "C" CHECK (entry_point ~ '^0x[0-9a-fA-F]{40}$'),
  -- The ledger account a refill books into (relayers:ethereum:<address>, operations:…).
  account text NOT NULL,
  fund_below numeric(78, 0) NOT NULL CHECK (fund_below > 0),
  fund_to numeric(78, 0) NOT NULL,
  daily_cap numeric(78, 0) NOT NULL CHECK (daily_cap > 0),
  relayer_id text COLLATE "C" REFERENCES relayers (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (fund_to > fund_below),
  CHECK ((kind = 'entrypoint-deposit') = (entry_point IS NOT NULL))
);

-- Every refill: signed and stored before it is sent, settled into a ledger entry when mined.
CREATE TABLE refills (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target text COLLATE "C" NOT NULL REFERENCES refill_targets (name),
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  balance_before numeric(78, 0) NOT NULL,
  status text NOT NULL CHECK (status IN ('submitted', 'confirmed', 'failed')),
  status_reason text,
  from_address text COLLATE "C" NOT NULL,
  nonce bigint NOT NULL,
  tx_hash text COLLATE "C" NOT NULL,
  raw_tx text NOT NULL,
  fee numeric(78, 0),
  entry_id bigint REFERENCES journal_entries (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz
);
-- At most one refill in flight per target: a pass never tops up twice for one shortfall.
CREATE UNIQUE INDEX refills_one_open ON refills (target) WHERE status = 'submitted';
CREATE INDEX refills_by_day ON refills (target, created_at);
