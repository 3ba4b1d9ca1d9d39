-- coffer as a remote signer (issue #25 part 1): keys that automated signers (an OP Stack
-- batcher's --signer.endpoint, Web3Signer eth1 clients) may use, the clients that may use
-- them, each key's signing policy, and an audit event for every signature and refusal.

-- A signing key is a keystore operational key (key material in the encrypted keystore, named
-- by keystore_name) or an MPC-derived key (predecessor + path, signed by chain signatures). The
-- key itself is never here. public_key is the uncompressed secp256k1 point without its 04 prefix,
-- as Web3Signer names keys in /api/v1/eth1/publicKeys and /api/v1/eth1/sign/{identifier}.
CREATE TABLE remote_signer_keys (
  name text COLLATE "C" PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,47}$'),
  address text COLLATE "C" NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
  public_key text COLLATE "C" NOT NULL UNIQUE CHECK (public_key ~ '^0x[0-9a-f]{128}$'),
  source text NOT NULL CHECK (source IN ('keystore', 'mpc')),
  keystore_name text UNIQUE,
  predecessor text,
  path text CHECK (length(path) BETWEEN 1 AND 200),
  -- The signing policy ({"timeZone","rules":[…]}); NULL: the key signs nothing.
  policy jsonb,
  policy_version integer NOT NULL DEFAULT 0 CHECK (policy_version >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((source = 'keystore') = (keystore_name IS NOT NULL)),
  CHECK ((source = 'mpc') = (predecessor IS NOT NULL AND path IS NOT NULL)),
  CHECK ((policy IS NULL) = (policy_version = 0)),
  UNIQUE (predecessor, path)
);

-- A signing client authenticates with `csk_<id>_<secret>`; only SHA-256 of the secret is kept
-- (32 random bytes, so a plain hash cannot be searched). It may use exactly the keys listed.
CREATE TABLE remote_signer_clients (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
  name text CHECK (length(name) BETWEEN 1 AND 100),
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE remote_signer_client_keys (
  client_id text COLLATE "C" NOT NULL REFERENCES remote_signer_clients (id),
  key_name text COLLATE "C" NOT NULL REFERENCES remote_signer_keys (name),
  PRIMARY KEY (client_id, key_name)
);

-- The audit trail: every signature (who, which key, the digest signed, what it was), every
-- refusal (its reason code and every violated rule), every policy version. Velocity and window
-- rules count the `signed` rows, read under the key row's lock.
CREATE TABLE remote_signer_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_name text COLLATE "C" NOT NULL REFERENCES remote_signer_keys (name),
  kind text NOT NULL CHECK (kind IN ('signed', 'refused', 'policy_set')),
  -- The signing client; for policy_set, the operator (an API key id or "cli").
  actor text NOT NULL,
  method text CHECK (method IN ('eth_signTransaction', 'eth_sign', 'eth_signTypedData_v4', 'eth1_sign')),
  digest text COLLATE "C" CHECK (digest ~ '^0x[0-9a-f]{64}$'),
  -- For transactions: the chain and the native value (counted by window_limit rules).
  chain_id bigint,
  value numeric(78, 0) CHECK (value >= 0),
  code text,
  detail jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL,
  CHECK ((kind = 'signed') = (digest IS NOT NULL)),
  CHECK ((kind = 'refused') = (code IS NOT NULL)),
  CHECK ((kind = 'policy_set') = (method IS NULL))
);
CREATE INDEX remote_signer_events_key ON remote_signer_events (key_name, kind, at);
CREATE INDEX remote_signer_events_recent ON remote_signer_events (key_name, id);

CREATE FUNCTION remote_signer_history_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'the remote signer''s audit trail is never edited';
END $$;
CREATE TRIGGER remote_signer_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON remote_signer_events
  FOR EACH STATEMENT EXECUTE FUNCTION remote_signer_history_forbid_change();
REVOKE UPDATE, DELETE, TRUNCATE ON remote_signer_events FROM PUBLIC;
