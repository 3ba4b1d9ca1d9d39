-- ledger_pattern_regex: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.ledger_pattern_regex(pattern text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT '^' || CASE
    WHEN pattern LIKE '%:*' THEN
      replace(regexp_replace(left(pattern, -2), '([.+@-])', '\\\1', 'g'), '*', '[^:]+') || '(:[^:]+)+'
    ELSE replace(regexp_replace(pattern, '([.+@-])', '\\\1', 'g'), '*', '[^:]+')
  END || '$'
$function$
