-- The treasury hot key becomes rotatable (issue #25): which keystore key pays refills lives here,
-- not in the TREASURY_HOT_KEY setting (that names only the first key, recorded on first use).
-- A rotation makes a new key the active one at once, under the lock refills are signed under, so
-- no refill straddles the switch; the old key drains: its refills in flight settle, then the rest
-- of its balance goes to the new key in one transfer (stored here before it is broadcast), booked
-- treasury.drained; then it is retired. Each key books into its own account, so the ledger equals
-- the chain per address: the first key into treasury:ethereum:hot (as before), successors into
-- treasury:ethereum:hot:<address>.
CREATE TABLE treasury_keys (
  key_name text PRIMARY KEY CHECK (key_name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  chain text NOT NULL CHECK (chain = 'ethereum'),
  -- 1 for the bootstrap key, +1 per rotation; successors' keystore names carry it, so a rotation
  -- that stopped after creating its key finds that key again.
  generation integer NOT NULL CHECK (generation >= 1),
  address text COLLATE "C" NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  account text NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('active', 'draining', 'retired')),
  -- The drain: signed and stored before it is broadcast, so a rerun sends the same transaction.
  drain_nonce bigint CHECK (drain_nonce >= 0),
  drain_amount numeric(78, 0) CHECK (drain_amount > 0),
  drain_tx_hash text COLLATE "C" CHECK (drain_tx_hash ~ '^0x[0-9a-f]{64}$'),
  drain_raw_tx text,
  drain_entry_id bigint REFERENCES journal_entries (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  UNIQUE (chain, generation),
  CHECK ((status = 'retired') = (retired_at IS NOT NULL)),
  CHECK ((drain_tx_hash IS NULL) = (drain_raw_tx IS NULL) AND (drain_tx_hash IS NULL) = (drain_amount IS NULL) AND (drain_tx_hash IS NULL) = (drain_nonce IS NULL)),
  CHECK (drain_entry_id IS NULL OR drain_tx_hash IS NOT NULL)
);
-- One key pays refills; one rotation at a time (a key drains before the next rotation starts).
CREATE UNIQUE INDEX treasury_keys_one_active ON treasury_keys (chain) WHERE status = 'active';
CREATE UNIQUE INDEX treasury_keys_one_draining ON treasury_keys (chain) WHERE status = 'draining';

-- GET /relayers/self/txs pages by `seq`, not by nonce: after a relayer key rotation the old and
-- the new key both have a nonce 0, 1, …, so "the last nonce seen" would repeat or skip. `seq` is
-- taken when a transaction is stored, and every store for a relayer happens under that relayer's
-- row lock, held to commit: per relayer, seq order is the order transactions became visible, so
-- a cursor "after seq N" neither repeats nor skips, even while sends arrive. Existing rows are
-- numbered as they would have been: by key (the retired keys in the order they were replaced,
-- then the current one), then nonce.
ALTER TABLE relayer_transactions ADD COLUMN seq bigint;
UPDATE relayer_transactions t SET seq = o.seq
  FROM (SELECT x.id, row_number() OVER (ORDER BY x.relayer_id, coalesce(k.rotated_at, 'infinity'::timestamptz), x.nonce, x.id) AS seq
          FROM relayer_transactions x LEFT JOIN relayer_keys k ON k.relayer_id = x.relayer_id AND k.address = x.from_address) o
 WHERE o.id = t.id;
ALTER TABLE relayer_transactions ALTER COLUMN seq SET NOT NULL;
ALTER TABLE relayer_transactions ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('relayer_transactions', 'seq'), coalesce((SELECT max(seq) FROM relayer_transactions), 0) + 1, false);
CREATE UNIQUE INDEX relayer_transactions_listing ON relayer_transactions (relayer_id, seq);
