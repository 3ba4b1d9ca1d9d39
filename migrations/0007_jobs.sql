-- Jobs (issue #5): the transactional outbox, prices, credit decisions, sweeps and the CHOCO
-- projection.

-- Work a ledger change makes necessary, written in the same transaction as that change. The
-- dispatcher copies rows to BullMQ with the row id as the job id (so a second copy is the same
-- job) and keeps re-offering every row whose work is not done, which is what makes a crash
-- between commit and enqueue, or a Redis that lost its data, lose nothing.
-- `dedupe_key` makes enqueueing idempotent too: the same work asked for twice is one row.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue text NOT NULL CHECK (queue ~ '^[a-z][a-z0-9-]{0,63}$'),
  name text NOT NULL,
  dedupe_key text COLLATE "C" NOT NULL UNIQUE,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz,
  dispatch_count integer NOT NULL DEFAULT 0,
  completed_at timestamptz
);
CREATE INDEX outbox_undone ON outbox (id) WHERE completed_at IS NULL;

-- Wakes the dispatcher at commit; its poll is the safety net for a missed notification.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('coffer_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Every price read from Pyth Hermes, used or refused, so a credit can name the exact price it
-- used and an auditor can see why another was refused. Prices are int64 with a power-of-ten
-- exponent (value = price × 10^expo), stored exactly.
CREATE TABLE price_observations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  feed_id text NOT NULL CHECK (feed_id ~ '^[0-9a-f]{64}$'),
  price numeric(20, 0) NOT NULL,
  conf numeric(20, 0) NOT NULL CHECK (conf >= 0),
  expo integer NOT NULL,
  publish_time timestamptz NOT NULL,
  requested_for timestamptz NOT NULL,
  source text NOT NULL,
  refused_reason text,
  observed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX price_observations_by_feed ON price_observations (feed_id, publish_time);

-- One decision per confirmed deposit: credited (with the entry and the price used), or not
-- credited with the reason (below the chain's minimum, or the deposit's confirmation was
-- reversed first). The primary key is what makes a credit happen at most once.
CREATE TABLE credit_decisions (
  confirmation_entry_id bigint PRIMARY KEY,
  deposit_entry_id bigint NOT NULL UNIQUE,
  user_id text COLLATE "C" NOT NULL,
  chain text NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL,
  status text NOT NULL CHECK (status IN ('credited', 'below_minimum', 'not_credited_reversed')),
  reason text,
  price_observation_id bigint REFERENCES price_observations (id),
  usd_micros numeric(78, 0),
  choco numeric(78, 0),
  credit_entry_id bigint,
  reversal_entry_id bigint,
  shortfall numeric(78, 0),
  decided_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'credited') = (credit_entry_id IS NOT NULL))
);
CREATE INDEX credit_decisions_by_user ON credit_decisions (user_id);

-- A clawed-back credit the user had already spent is owed by the user: the receivable may go
-- below zero (what is owed), like the issuer.
INSERT INTO floor_rules (pattern, floor) VALUES ('receivables:*', NULL);

-- Sweeps from deposit addresses to the treasury: one row per deposit asked to be swept. The
-- signed transaction is stored before it is broadcast, so a worker that dies after signing
-- re-broadcasts the same transaction (same nonce, same hash) instead of signing a second one.
-- Signed transactions are public once broadcast and carry no key material.
CREATE TABLE sweeps (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deposit_entry_id bigint NOT NULL UNIQUE,
  user_id text COLLATE "C" NOT NULL,
  chain text NOT NULL,
  address text NOT NULL,
  asset text NOT NULL,
  treasury text,
  amount numeric(78, 0),
  status text NOT NULL CHECK (status IN ('waiting_for_gas', 'submitted', 'confirmed', 'failed', 'skipped')),
  reason text,
  nonce bigint,
  tx_hash text,
  raw_tx text,
  fee numeric(78, 0),
  submitted_entry_id bigint,
  settled_entry_id bigint,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sweeps_by_address ON sweeps (chain, address, status);

-- Gas a deposit address needs before a token sweep can leave it. The refill worker (issue #7)
-- acts on these; until then they are visible here and on the queue board.
CREATE TABLE refill_requests (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain text NOT NULL,
  address text NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  reason text NOT NULL,
  sweep_id bigint REFERENCES sweeps (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  fulfilled_at timestamptz,
  UNIQUE (sweep_id)
);

-- CHOCO per user: a projection of the journal (postings on users:<id>:choco), replayable.
CREATE TABLE choco_balances (
  user_id text COLLATE "C" PRIMARY KEY,
  credited numeric(78, 0) NOT NULL DEFAULT 0,
  debited numeric(78, 0) NOT NULL DEFAULT 0,
  balance numeric(78, 0) GENERATED ALWAYS AS (credited - debited) STORED,
  last_entry_id bigint NOT NULL
);
INSERT INTO projection_checkpoints (name) VALUES ('choco_balances');
