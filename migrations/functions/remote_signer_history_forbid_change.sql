-- remote_signer_history_forbid_change: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.remote_signer_history_forbid_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'the remote signer''s audit trail is never edited';
END $function$
