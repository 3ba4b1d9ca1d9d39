-- Chain indexers (issue #4). What an indexer has applied lives here, next to the ledger, and is
-- written in the same transaction as the ledger entries it produced: a crash can never leave the
-- ledger ahead of the cursor or behind it.

-- One row per indexer. `height`/`hash` is the last finalized block applied; `processed_height`
-- also counts unfinalized (hot) blocks. `chain_head` is the newest block the chain reported, so
-- lag = chain_head - processed_height without asking the chain. `stopped_reason` is set when the
-- indexer refuses to go on (a reorg deeper than its finality depth) until an operator rewinds it.
CREATE TABLE indexer_cursors (
  indexer text COLLATE "C" PRIMARY KEY CHECK (indexer ~ '^[a-z][a-z0-9-]{0,63}$'),
  chain text NOT NULL,
  height bigint NOT NULL CHECK (height >= -1),
  hash text NOT NULL,
  processed_height bigint NOT NULL CHECK (processed_height >= height),
  chain_head bigint,
  chain_head_at timestamptz,
  finality_depth integer NOT NULL CHECK (finality_depth >= 0),
  stopped_reason text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Unfinalized blocks an indexer has applied, newest last: what a reorg may take back.
CREATE TABLE indexer_hot_blocks (
  indexer text COLLATE "C" NOT NULL REFERENCES indexer_cursors (indexer),
  height bigint NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (indexer, height)
);

-- Deposits whose pending entry is written but neither confirmed nor reversed yet: the indexer's
-- to-do list. A row leaves in the same transaction as the entry that settles it.
-- It carries what the settling entry needs, so settling reads no journal rows.
CREATE TABLE indexer_open_deposits (
  entry_id bigint PRIMARY KEY,
  indexer text COLLATE "C" NOT NULL REFERENCES indexer_cursors (indexer),
  block_height bigint NOT NULL,
  block_hash text NOT NULL,
  key_base text NOT NULL,
  pending_account text NOT NULL,
  custody_account text NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0)
);
CREATE INDEX indexer_open_deposits_height ON indexer_open_deposits (indexer, block_height);
CREATE INDEX indexer_open_deposits_hash ON indexer_open_deposits (indexer, block_hash);

-- Contract events later issues act on (the forwarder's ExecutedForwardRequest, the EntryPoint's
-- Deposited/Withdrawn). Not money by themselves, so not ledger entries; an event from a block a
-- reorg dropped is kept and marked, never deleted.
CREATE TABLE evm_contract_events (
  indexer text COLLATE "C" NOT NULL,
  block_height bigint NOT NULL,
  block_hash text NOT NULL,
  tx_hash text NOT NULL,
  log_index integer NOT NULL,
  contract text NOT NULL,
  event text NOT NULL,
  args jsonb NOT NULL,
  block_time timestamptz NOT NULL,
  orphaned boolean NOT NULL DEFAULT false,
  PRIMARY KEY (indexer, block_hash, log_index)
);
CREATE INDEX evm_contract_events_by_event ON evm_contract_events (event, block_height);

-- Deposit addresses are matched case-insensitively (EVM logs carry lower-case addresses).
CREATE INDEX deposit_addresses_lower ON deposit_addresses (chain, lower(address));

-- The deposit view: a projection of the journal (deposit.pending, deposit.confirmed and their
-- reversals), replayable like any other. Status follows from which entries exist.
CREATE TABLE deposits (
  entry_id bigint PRIMARY KEY,
  chain text NOT NULL,
  user_id text COLLATE "C",
  address text NOT NULL,
  asset text NOT NULL,
  amount numeric(78, 0) NOT NULL,
  tx_hash text NOT NULL,
  log_index integer,
  block_height bigint NOT NULL,
  block_hash text NOT NULL,
  effective_at timestamptz NOT NULL,
  confirmed_entry_id bigint,
  confirmation_reversed boolean NOT NULL DEFAULT false,
  reversal_entry_id bigint,
  status text GENERATED ALWAYS AS (
    CASE WHEN reversal_entry_id IS NOT NULL THEN 'reverted'
         WHEN confirmed_entry_id IS NOT NULL AND NOT confirmation_reversed THEN 'confirmed'
         ELSE 'pending' END) STORED
);
CREATE INDEX deposits_by_user ON deposits (user_id, entry_id);
INSERT INTO projection_checkpoints (name) VALUES ('deposits');
