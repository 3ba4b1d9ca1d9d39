-- Web sessions (issue #22): a person signs in to /app or /console with an API key once and gets
-- a session cookie. Only SHA-256 of the cookie's random id is stored, so a copy of this table
-- cannot be replayed as a cookie. A session lives a fixed time and dies with its API key.
CREATE TABLE web_sessions (
  id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
  api_key_id text COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- The operator console's reads: spends waiting for approval across all wallets, and sweeps by
-- state (in flight, failed), without scanning either table.
CREATE INDEX spends_awaiting_approval ON spends (approval_deadline, created_at) WHERE status = 'awaiting_approval';
CREATE INDEX sweeps_by_status ON sweeps (status, updated_at);
