-- Rotating the verifying paymaster's signing key (issues #24 and #25): a new keystore key is
-- added to the paymaster's signer set on chain, the sponsor service signs with it from then on,
-- and the old key leaves the set once the overlap is over and nothing it signed can still be
-- used. Each rotation is one row whose status moves prepared → activated → retired; each step
-- is also a key_rotations event.

ALTER TABLE key_rotations DROP CONSTRAINT key_rotations_kind_check;
ALTER TABLE key_rotations ADD CONSTRAINT key_rotations_kind_check
  CHECK (kind IN ('api_key', 'agent_key', 'keystore_passphrase', 'webhook_root', 'relayer_key', 'treasury_hot_key', 'paymaster_signer'));

CREATE TABLE paymaster_signer_rotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  paymaster text COLLATE "C" NOT NULL CHECK (paymaster ~ '^0x[0-9a-fA-F]{40}$'),
  old_key_name text NOT NULL,
  old_address text COLLATE "C" NOT NULL CHECK (old_address ~ '^0x[0-9a-fA-F]{40}$'),
  -- Named by generation, so a rotation that stopped after creating its key finds it again.
  new_key_name text NOT NULL UNIQUE,
  new_address text COLLATE "C" NOT NULL UNIQUE CHECK (new_address ~ '^0x[0-9a-fA-F]{40}$'),
  -- prepared: the key exists, not yet accepted on chain; activated: the paymaster accepts it and
  -- the service signs with it; retired: the old key has left the paymaster's signer set.
  status text NOT NULL CHECK (status IN ('prepared', 'activated', 'retired')),
  overlap_seconds integer NOT NULL CHECK (overlap_seconds >= 0),
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz,
  -- Not before this (activation + overlap) is the old key retired, nor before the last
  -- operation it signed has expired (sponsor_decisions.signer_address).
  retire_after timestamptz,
  retired_at timestamptz,
  CHECK ((status = 'prepared') = (activated_at IS NULL)),
  CHECK ((activated_at IS NULL) = (retire_after IS NULL)),
  CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);
-- One unfinished rotation per paymaster: a rerun resumes it rather than starting another.
CREATE UNIQUE INDEX paymaster_signer_rotations_one_prepared ON paymaster_signer_rotations (paymaster) WHERE status = 'prepared';
CREATE INDEX paymaster_signer_rotations_active ON paymaster_signer_rotations (paymaster, id) WHERE status <> 'prepared';

-- Which key signed each signature, so an old key is retired only after its last one expired.
ALTER TABLE sponsor_decisions ADD COLUMN signer_address text COLLATE "C" CHECK (signer_address ~ '^0x[0-9a-fA-F]{40}$');
ALTER TABLE sponsor_decisions ADD CONSTRAINT sponsor_decisions_signer CHECK (outcome = 'signed' OR signer_address IS NULL);
CREATE INDEX sponsor_decisions_by_signer ON sponsor_decisions (signer_address, valid_until) WHERE outcome = 'signed';
