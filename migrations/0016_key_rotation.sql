-- Key rotation (issue #25 part 2): API and agent keys expire on a schedule after a rotation, and
-- every rotation of any key is an audited event.

-- A rotated key stays valid until expires_at (the overlap), then is refused like a revoked one.
-- rotated_to names the key that replaced it, so the chain of a key's successors can be followed.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN rotated_to text COLLATE "C" REFERENCES api_keys (id);

-- The audit log of rotations: one row per step (a key rotated; a relayer's old key drained, then
-- retired). References are public (key ids, addresses, file counts), never a secret.
CREATE TABLE key_rotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('api_key', 'agent_key', 'keystore_passphrase', 'webhook_root', 'relayer_key', 'treasury_hot_key')),
  -- What was rotated: an API key's id, a relayer's id, a keystore directory, the webhook root file.
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
  -- rotated: a successor issued; activated: it signs from now on (a relayer's, once funded);
  -- drained: the old key's balance moved to its successor; retired: the old key signs nothing more.
  step text NOT NULL CHECK (step IN ('rotated', 'activated', 'drained', 'retired')),
  old_ref text,
  new_ref text,
  overlap_until timestamptz,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  detail jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX key_rotations_subject ON key_rotations (kind, subject, id);

CREATE TRIGGER key_rotations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON key_rotations
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_history_forbid_change();
REVOKE UPDATE, DELETE, TRUNCATE ON key_rotations FROM PUBLIC;

-- A relayer's signing key is rotated without the relayer changing: its id and API credentials
-- stay, its EOA changes. The successor is prepared (pending_*) and funded by the refill job; once
-- its balance is booked it becomes the relayer's key (relayers.address, key_name, next_nonce),
-- and the old key moves to relayer_keys to drain: its pending transactions finish, then the rest
-- of its balance is sent to the successor, then it is retired.
ALTER TABLE relayers ADD COLUMN pending_key_name text UNIQUE;
ALTER TABLE relayers ADD COLUMN pending_address text COLLATE "C" UNIQUE CHECK (pending_address ~ '^0x[0-9a-fA-F]{40}$');
ALTER TABLE relayers ADD CONSTRAINT relayers_pending_key CHECK ((pending_key_name IS NULL) = (pending_address IS NULL));

CREATE TABLE relayer_keys (
  relayer_id text COLLATE "C" NOT NULL REFERENCES relayers (id),
  key_name text NOT NULL UNIQUE,
  address text COLLATE "C" NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  status text NOT NULL CHECK (status IN ('draining', 'retired')),
  -- The old key's own nonce counter, taken under the relayer's row lock as relayers.next_nonce is.
  next_nonce bigint NOT NULL CHECK (next_nonce >= 0),
  -- The transfer of what is left to the successor, once nothing else of this key is in flight.
  drain_transaction_id uuid,
  rotated_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);
-- One rotation at a time per relayer: a key drains before the next rotation starts.
CREATE UNIQUE INDEX relayer_keys_one_draining ON relayer_keys (relayer_id) WHERE status = 'draining';

-- Each transaction names the key that signed it: nonces are per key, so (relayer, key, nonce) is unique.
ALTER TABLE relayer_transactions ADD COLUMN from_address text COLLATE "C" CHECK (from_address ~ '^0x[0-9a-fA-F]{40}$');
UPDATE relayer_transactions t SET from_address = r.address FROM relayers r WHERE r.id = t.relayer_id;
ALTER TABLE relayer_transactions ALTER COLUMN from_address SET NOT NULL;
ALTER TABLE relayer_transactions DROP CONSTRAINT relayer_transactions_relayer_id_nonce_key;
ALTER TABLE relayer_transactions ADD CONSTRAINT relayer_transactions_key_nonce UNIQUE (relayer_id, from_address, nonce);
-- 'rotation': the transfer that drains an old key into its successor.
ALTER TABLE relayer_transactions DROP CONSTRAINT relayer_transactions_origin_check;
ALTER TABLE relayer_transactions ADD CONSTRAINT relayer_transactions_origin_check CHECK (origin IN ('defender', 'relay', 'forwarder', 'rotation'));
ALTER TABLE relayer_keys ADD CONSTRAINT relayer_keys_drain_transaction FOREIGN KEY (drain_transaction_id) REFERENCES relayer_transactions (id);
