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
  step text NOT NULL CHECK (step IN ('rotated', 'drained', 'retired')),
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
