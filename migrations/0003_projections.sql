-- Asynchronous projections follow the journal by sequence. Each stores the last journal entry
-- it has applied; applying a range and moving the checkpoint happen in one transaction.
CREATE TABLE projection_checkpoints (
  name text COLLATE "C" PRIMARY KEY,
  last_entry_id bigint NOT NULL DEFAULT 0 CHECK (last_entry_id >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Volumes per account and asset (what came in, what went out): the auditor's turnover view,
-- and the first projection built on the framework.
CREATE TABLE account_volumes (
  account_id bigint NOT NULL,
  asset_id integer NOT NULL,
  input numeric(78, 0) NOT NULL DEFAULT 0 CHECK (input >= 0),
  output numeric(78, 0) NOT NULL DEFAULT 0 CHECK (output >= 0),
  postings_count bigint NOT NULL DEFAULT 0,
  last_entry_id bigint,
  PRIMARY KEY (account_id, asset_id)
);
INSERT INTO projection_checkpoints (name) VALUES ('account_volumes');
