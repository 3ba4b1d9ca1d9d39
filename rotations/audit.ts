// The audit log of key rotations: every rotation of every kind of key, and each later step of
// one (a relayer's old key drained, then retired), as an append-only row. Rows hold public
// references only — key ids, addresses, counts — so the log can be shown to any operator.
import assert from 'node:assert/strict';
import type { Selectable } from 'kysely';
import { run, runOne, sql, sqlBuilder, type Database, type Queryable } from '../infra/index.ts';

export const rotationKinds = ['api_key', 'agent_key', 'keystore_passphrase', 'webhook_root', 'relayer_key', 'treasury_hot_key'] as const;
export type RotationKind = (typeof rotationKinds)[number];
export const rotationSteps = ['rotated', 'activated', 'drained', 'retired'] as const;
export type RotationStep = (typeof rotationSteps)[number];

export interface RotationEvent {
  kind: RotationKind;
  subject: string;
  step: RotationStep;
  oldRef?: string | null;
  newRef?: string | null;
  overlapUntil?: Date | null;
  actor: string;
  detail?: Record<string, unknown>;
}

export interface RecordedRotation extends Required<Omit<RotationEvent, 'detail'>> {
  id: string;
  detail: Record<string, unknown>;
  at: Date;
}

const columns = ['id', 'kind', 'subject', 'step', 'old_ref', 'new_ref', 'overlap_until', 'actor', 'detail', 'at'] as const;
type Row = Pick<Selectable<Database['key_rotations']>, (typeof columns)[number]>;

const oneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value);

function fromRow(r: Row): RecordedRotation {
  // The table's CHECK constraints hold kinds and steps to these lists: a row outside them is drift between schema and code.
  assert.ok(oneOf(rotationKinds, r.kind) && oneOf(rotationSteps, r.step), `key_rotations row ${r.id} has kind ${r.kind} and step ${r.step}, which this code does not know`);
  return {
    id: r.id.toString(),
    kind: r.kind,
    subject: r.subject,
    step: r.step,
    oldRef: r.old_ref,
    newRef: r.new_ref,
    overlapUntil: r.overlap_until,
    actor: r.actor,
    detail: r.detail !== null && typeof r.detail === 'object' && !Array.isArray(r.detail) ? r.detail : {},
    at: r.at,
  };
}

/** Appends one event; pass the transaction that made the change, so the log and the change commit together. */
export async function recordRotation(db: Queryable, event: RotationEvent): Promise<RecordedRotation> {
  const row = await runOne(
    db,
    sqlBuilder
      .insertInto('key_rotations')
      .values({
        kind: event.kind,
        subject: event.subject,
        step: event.step,
        old_ref: event.oldRef ?? null,
        new_ref: event.newRef ?? null,
        overlap_until: event.overlapUntil ?? null,
        actor: event.actor.slice(0, 200),
        detail: JSON.stringify(event.detail ?? {}),
      })
      .returning(columns),
  );
  return fromRow(row);
}

export const rotationPageMax = 500;

/** Newest first; `before` (an id) pages further back. */
export async function listRotations(db: Queryable, query: { kind?: RotationKind; subject?: string; before?: string; limit?: number } = {}): Promise<RecordedRotation[]> {
  const limit = Math.min(Math.max(query.limit ?? 100, 1), rotationPageMax);
  let select = sqlBuilder.selectFrom('key_rotations').select(columns).orderBy('id', 'desc').limit(limit);
  if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
  if (query.subject !== undefined) select = select.where('subject', '=', query.subject);
  // Cast by PostgreSQL, as before: a cursor that is not a number is its input error (400), not ours.
  if (query.before !== undefined) select = select.where('id', '<', sql<bigint>`${query.before}::bigint`);
  return (await run(db, select)).map(fromRow);
}

/** The JSON shape the CLI and the operator API show. */
export function rotationView(r: RecordedRotation) {
  return {
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    step: r.step,
    oldRef: r.oldRef,
    newRef: r.newRef,
    overlapUntil: r.overlapUntil?.toISOString() ?? null,
    actor: r.actor,
    detail: r.detail,
    at: r.at.toISOString(),
  };
}
