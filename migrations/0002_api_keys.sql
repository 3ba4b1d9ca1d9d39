-- API keys: only a SHA-256 of the secret part is stored; the key itself is printed once, at
-- creation. Keys are 256-bit random values, so a fast hash is enough (no password stretching).
CREATE TABLE api_keys (
  id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
  role text NOT NULL CHECK (role IN ('user', 'agent', 'auditor', 'operator')),
  name text CHECK (length(name) <= 200),
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
