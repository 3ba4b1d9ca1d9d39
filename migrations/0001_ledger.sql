-- The immutable double-entry ledger. Every invariant the product promises is enforced here,
-- by PostgreSQL, so that no code path (ours, a bug, or a person with psql) can break it:
--   * append-only: UPDATE / DELETE / TRUNCATE raise (and are revoked from the app role);
--   * postings move a positive amount between two different accounts, so an entry balances
--     per asset by construction; an entry needs at least one posting (checked at commit);
--   * floors: no balance below its floor, checked entry by entry in the append transaction;
--   * idempotency keys are unique, with the request hash stored beside them; rejections are
--     recorded under their key so a retry cannot flip an outcome;
--   * corrections only by reversal entries that mirror the original; each entry at most once;
--   * every entry is covered by a seal of the SHA-256 hash chain written in the same transaction.
-- docs/adr/0001-ledger-model.md explains the choices; ledger/writer.ts is the only writer.

DO $$
BEGIN
  CREATE ROLE coffer_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- roles are cluster-wide: another database on this server created it already
END $$;

CREATE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'corrections are reversal entries';
END $$;

-- Assets: a code and a scale fixed forever (ETH/18, a 6-decimal USDC, CHOCO/18).
CREATE TABLE assets (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code text COLLATE "C" NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9_.-]{0,31}$'),
  scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 36),
  chain text CHECK (chain ~ '^[a-z][a-z0-9-]{0,31}$'),
  contract text CHECK (contract IS NULL OR chain IS NOT NULL),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (chain, contract)
);

INSERT INTO assets (code, scale, chain) VALUES
  ('ETH', 18, 'ethereum'),
  ('BTC', 8, 'bitcoin'),
  ('SOL', 9, 'solana'),
  ('NEAR', 24, 'near'),
  ('CHOCO', 18, NULL);

-- Accounts are colon paths (`custody:ethereum:0xabc…`), created on first use.
CREATE TABLE accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  path text COLLATE "C" NOT NULL UNIQUE
    CHECK (length(path) <= 512 AND path ~ '^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.@+-]+)+$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Floors by account pattern: `*` matches one segment, a trailing `*` any number of segments
-- (at least one). NULL floor = unbounded (the outside world, the issuer). Everything without a
-- matching rule has floor 0. The most specific rule wins (an asset-specific rule, then the
-- pattern with the most literal characters).
CREATE TABLE floor_rules (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pattern text COLLATE "C" NOT NULL CHECK (pattern ~ '^[a-z*][a-z0-9_*-]*(:[A-Za-z0-9_.@+*-]+)*$'),
  asset_id integer REFERENCES assets (id),
  floor numeric(78, 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX floor_rules_pattern_asset ON floor_rules (pattern, coalesce(asset_id, 0));

INSERT INTO floor_rules (pattern, floor) VALUES ('world:*', NULL), ('issuer:*', NULL);

CREATE FUNCTION ledger_pattern_regex(pattern text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT '^' || CASE
    WHEN pattern LIKE '%:*' THEN
      replace(regexp_replace(left(pattern, -2), '([.+@-])', '\\\1', 'g'), '*', '[^:]+') || '(:[^:]+)+'
    ELSE replace(regexp_replace(pattern, '([.+@-])', '\\\1', 'g'), '*', '[^:]+')
  END || '$'
$$;

CREATE FUNCTION ledger_floor_for(account_path text, for_asset_id integer) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
  rule record;
BEGIN
  SELECT r.floor INTO rule FROM floor_rules r
   WHERE account_path ~ ledger_pattern_regex(r.pattern)
     AND (r.asset_id IS NULL OR r.asset_id = for_asset_id)
   ORDER BY (r.asset_id IS NOT NULL) DESC, length(replace(r.pattern, '*', '')) DESC, r.id DESC
   LIMIT 1;
  IF FOUND THEN
    RETURN rule.floor; -- NULL: unbounded
  END IF;
  RETURN 0;
END $$;

-- Balances: the synchronous projection, written only by the postings trigger below, in the
-- append transaction. The floor is copied from the rules when the row is created.
CREATE TABLE balances (
  account_id bigint NOT NULL REFERENCES accounts (id),
  asset_id integer NOT NULL REFERENCES assets (id),
  balance numeric(78, 0) NOT NULL DEFAULT 0,
  floor numeric(78, 0),
  postings_count bigint NOT NULL DEFAULT 0,
  last_entry_id bigint,
  PRIMARY KEY (account_id, asset_id),
  CONSTRAINT balance_at_or_above_floor CHECK (floor IS NULL OR balance >= floor)
) WITH (fillfactor = 80);

CREATE FUNCTION balances_set_floor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.floor := ledger_floor_for((SELECT path FROM accounts WHERE id = NEW.account_id), NEW.asset_id);
  NEW.balance := 0;
  NEW.postings_count := 0;
  NEW.last_entry_id := NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER balances_set_floor BEFORE INSERT ON balances
  FOR EACH ROW EXECUTE FUNCTION balances_set_floor();

-- Only the postings trigger (depth ≥ 2) may move a balance; a direct UPDATE of the money
-- columns is refused. A floor may be changed (ledger/floors.ts) and is still bounded by the CHECK.
CREATE FUNCTION balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() >= 2 THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'balances are a projection of postings: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'append a journal entry instead';
END $$;
CREATE TRIGGER balances_guard BEFORE UPDATE OF account_id, asset_id, balance, postings_count, last_entry_id
  OR DELETE OR TRUNCATE ON balances
  FOR EACH STATEMENT EXECUTE FUNCTION balances_guard();

-- Journal entries. `id` is the journal sequence: gapless, assigned by the writer under the
-- writer lock, and covered by exactly one seal.
CREATE TABLE journal_entries (
  id bigint PRIMARY KEY CHECK (id > 0),
  kind text COLLATE "C" NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
  idempotency_key text COLLATE "C" NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
  effective_at timestamptz NOT NULL,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  source_ref text CHECK (length(source_ref) <= 512),
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  reverses bigint REFERENCES journal_entries (id),
  CHECK (reverses IS NULL OR reverses < id)
);
-- An entry is reversed at most once. Partial, so the common entry pays no index insert for it.
CREATE UNIQUE INDEX journal_entries_reverses ON journal_entries (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX journal_entries_effective_at ON journal_entries (effective_at, id);

-- A posting moves a positive amount of one asset from a source to a destination account.
-- No foreign keys here (they are per-row triggers, the largest cost on this path); the
-- statement trigger below checks entries, accounts and assets for the whole batch at once.
CREATE TABLE postings (
  entry_id bigint NOT NULL,
  posting_index smallint NOT NULL CHECK (posting_index >= 0),
  asset_id integer NOT NULL,
  source_account_id bigint NOT NULL,
  destination_account_id bigint NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount > 0),
  PRIMARY KEY (entry_id, posting_index),
  CHECK (source_account_id <> destination_account_id)
);
CREATE INDEX postings_source ON postings (source_account_id, asset_id, entry_id);
CREATE INDEX postings_destination ON postings (destination_account_id, asset_id, entry_id);

-- After every INSERT statement on postings: check that the entries exist, move the balances
-- and refuse any entry that leaves an account below its floor. Balances are checked at each
-- entry boundary, in journal order, so a breach in the middle of a batch is caught even when
-- a later entry in the same batch would have covered it.
-- SECURITY DEFINER: the application role may insert postings but never update balances itself.
CREATE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  orphan bigint;
  breach record;
BEGIN
  SELECT p.entry_id INTO orphan FROM new_postings p
    WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = p.entry_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting refers to journal entry % which does not exist', orphan
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- Balance rows for first-time (account, asset) pairs; their FKs check account and asset.
  -- Only the missing ones: a BEFORE INSERT trigger runs even for rows ON CONFLICT then skips.
  INSERT INTO balances (account_id, asset_id)
    SELECT m.account_id, m.asset_id
    FROM (SELECT source_account_id AS account_id, asset_id FROM new_postings
          UNION SELECT destination_account_id, asset_id FROM new_postings) m
    WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.account_id = m.account_id AND b.asset_id = m.asset_id)
  ON CONFLICT DO NOTHING;

  WITH moves AS (
    SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
    UNION ALL
    SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
  ), per_entry AS (
    SELECT account_id, asset_id, entry_id, sum(delta) AS delta FROM moves GROUP BY 1, 2, 3
  ), locked AS (
    SELECT b.account_id, b.asset_id, b.balance, b.floor FROM balances b
    WHERE (b.account_id, b.asset_id) IN (SELECT account_id, asset_id FROM per_entry)
    ORDER BY b.account_id, b.asset_id
    FOR UPDATE
  ), running AS (
    SELECT pe.entry_id, pe.account_id, pe.asset_id, l.floor,
      l.balance + sum(pe.delta) OVER (PARTITION BY pe.account_id, pe.asset_id ORDER BY pe.entry_id) AS balance_after
    FROM per_entry pe JOIN locked l USING (account_id, asset_id)
  )
  SELECT r.entry_id, a.path, s.code, r.balance_after, r.floor INTO breach
    FROM running r JOIN accounts a ON a.id = r.account_id JOIN assets s ON s.id = r.asset_id
    WHERE r.floor IS NOT NULL AND r.balance_after < r.floor
    ORDER BY r.entry_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % would take % below its floor in % (balance % < floor %)',
      breach.entry_id, breach.path, breach.code, breach.balance_after, breach.floor
      USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_at_or_above_floor';
  END IF;

  UPDATE balances b
     SET balance = b.balance + d.delta,
         postings_count = b.postings_count + d.moves,
         last_entry_id = greatest(b.last_entry_id, d.last_entry_id)
    FROM (
      SELECT account_id, asset_id, sum(delta) AS delta, count(*) AS moves, max(entry_id) AS last_entry_id
      FROM (
        SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
        UNION ALL
        SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
      ) m GROUP BY 1, 2
    ) d
   WHERE b.account_id = d.account_id AND b.asset_id = d.asset_id;
  RETURN NULL;
END $$;
CREATE TRIGGER postings_apply AFTER INSERT ON postings
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION postings_apply();

-- Rejected appends, recorded under their idempotency key so a retry returns the same answer.
CREATE TABLE rejections (
  idempotency_key text COLLATE "C" PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
  code text COLLATE "C" NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  detail jsonb NOT NULL DEFAULT '{}',
  rejected_at timestamptz NOT NULL DEFAULT now()
);

-- The hash chain: each seal covers the entries appended by one writer batch.
-- hash = SHA-256(previous_hash ‖ canonical encoding of the entries), see ledger/canonical.ts.
CREATE TABLE ledger_seals (
  id bigint PRIMARY KEY CHECK (id > 0),
  first_entry_id bigint NOT NULL UNIQUE,
  last_entry_id bigint NOT NULL UNIQUE,
  encoding_version smallint NOT NULL CHECK (encoding_version >= 1),
  previous_hash bytea NOT NULL CHECK (length(previous_hash) = 32),
  hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
  sealed_at timestamptz NOT NULL DEFAULT now(),
  CHECK (last_entry_id >= first_entry_id)
);

-- At commit, once per seal (so once per writer batch, not once per row): the seal extends the
-- chain without gaps, every entry it covers exists and has postings, and every reversal in it
-- mirrors its target. Set-based, so its cost does not depend on how long the journal is.
CREATE FUNCTION ledger_seal_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous ledger_seals;
  covered bigint;
  bad bigint;
BEGIN
  SELECT * INTO previous FROM ledger_seals WHERE id = NEW.id - 1;
  IF NEW.id = 1 THEN
    IF NEW.first_entry_id <> 1 OR NEW.previous_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
      RAISE EXCEPTION 'the first seal must start at entry 1 from the zero hash' USING ERRCODE = 'check_violation';
    END IF;
  ELSIF previous.id IS NULL OR NEW.previous_hash <> previous.hash OR NEW.first_entry_id <> previous.last_entry_id + 1 THEN
    RAISE EXCEPTION 'seal % does not extend the hash chain from seal %', NEW.id, NEW.id - 1
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT count(*) INTO covered FROM journal_entries WHERE id BETWEEN NEW.first_entry_id AND NEW.last_entry_id;
  IF covered <> NEW.last_entry_id - NEW.first_entry_id + 1 THEN
    RAISE EXCEPTION 'seal % covers entries % to % but % of them exist', NEW.id, NEW.first_entry_id,
      NEW.last_entry_id, covered USING ERRCODE = 'check_violation';
  END IF;
  SELECT e.id INTO bad FROM journal_entries e
   WHERE e.id BETWEEN NEW.first_entry_id AND NEW.last_entry_id
     AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)
   ORDER BY e.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % has no postings', bad USING ERRCODE = 'check_violation';
  END IF;
  SELECT r.id INTO bad FROM journal_entries r
   WHERE r.id BETWEEN NEW.first_entry_id AND NEW.last_entry_id AND r.reverses IS NOT NULL
     AND EXISTS (
       (SELECT posting_index, asset_id, destination_account_id, source_account_id, amount
          FROM postings WHERE entry_id = r.reverses
        EXCEPT ALL
        SELECT posting_index, asset_id, source_account_id, destination_account_id, amount
          FROM postings WHERE entry_id = r.id)
       UNION ALL
       (SELECT posting_index, asset_id, source_account_id, destination_account_id, amount
          FROM postings WHERE entry_id = r.id
        EXCEPT ALL
        SELECT posting_index, asset_id, destination_account_id, source_account_id, amount
          FROM postings WHERE entry_id = r.reverses))
   ORDER BY r.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not mirror the postings of the entry it reverses', bad
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_seal_check AFTER INSERT ON ledger_seals
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_seal_check();

-- After every INSERT statement on journal_entries: each new entry lies inside a seal. The writer
-- inserts entries and their seal in one statement; anything else is refused here, and the
-- seal's own check at commit then proves the sealed entries are complete.
CREATE FUNCTION journal_entries_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unsealed bigint;
BEGIN
  SELECT e.id INTO unsealed FROM new_entries e
   WHERE NOT EXISTS (
     SELECT 1 FROM (SELECT s.first_entry_id FROM ledger_seals s
                     WHERE s.last_entry_id >= e.id ORDER BY s.last_entry_id LIMIT 1) c
      WHERE c.first_entry_id <= e.id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % is not covered by a seal of the hash chain', unsealed
      USING ERRCODE = 'check_violation', HINT = 'only the ledger writer appends entries';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER journal_entries_sealed AFTER INSERT ON journal_entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_sealed();

-- Append-only, twice over: triggers that raise (they bind the owner and superusers too) and
-- privileges the application role does not have.
CREATE TRIGGER assets_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON assets
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER accounts_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER rejections_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON rejections
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_seals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_seals
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

REVOKE ALL ON assets, accounts, floor_rules, balances, journal_entries, postings, rejections, ledger_seals FROM PUBLIC;
GRANT SELECT, INSERT ON assets, accounts, journal_entries, postings, rejections, ledger_seals TO coffer_app;
GRANT SELECT, INSERT ON balances TO coffer_app;
GRANT SELECT ON floor_rules TO coffer_app;
