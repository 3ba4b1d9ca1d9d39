// The audit log of key rotations: every rotation of every kind of key, and each later step of
// one (a relayer's old key drained, then retired), as an append-only row. Rows hold public
// references only — key ids, addresses, counts — so the log can be shown to any operator.
import type { Queryable } from '../infra/index.ts';

export const rotationKinds = ['api_key', 'agent_key', 'keystore_passphrase', 'webhook_root', 'relayer_key', 'treasury_hot_key', 'paymaster_signer'] as const;
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

interface Row {
  id: string;
  kind: RotationKind;
  subject: string;
  step: RotationStep;
  old_ref: string | null;
  new_ref: string | null;
  overlap_until: Date | null;
  actor: string;
  detail: Record<string, unknown>;
  at: Date;
}

const fromRow = (r: Row): RecordedRotation => ({
  id: r.id,
  kind: r.kind,
  subject: r.subject,
  step: r.step,
  oldRef: r.old_ref,
  newRef: r.new_ref,
  overlapUntil: r.overlap_until,
  actor: r.actor,
  detail: r.detail,
  at: r.at,
});

/** Appends one event; pass the transaction that made the change, so the log and the change commit together. */
export async function recordRotation(db: Queryable, event: RotationEvent): Promise<RecordedRotation> {
  const { rows } = await db.query<Row>(
    `INSERT INTO key_rotations (kind, subject, step, old_ref, new_ref, overlap_until, actor, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text, kind, subject, step, old_ref, new_ref, overlap_until, actor, detail, at`,
    [event.kind, event.subject, event.step, event.oldRef ?? null, event.newRef ?? null, event.overlapUntil ?? null, event.actor.slice(0, 200), JSON.stringify(event.detail ?? {})],
  );
  return fromRow(rows[0]!);
}

export const rotationPageMax = 500;

/** Newest first; `before` (an id) pages further back. */
export async function listRotations(db: Queryable, query: { kind?: RotationKind; subject?: string; before?: string; limit?: number } = {}): Promise<RecordedRotation[]> {
  const limit = Math.min(Math.max(query.limit ?? 100, 1), rotationPageMax);
  const { rows } = await db.query<Row>(
    `SELECT id::text, kind, subject, step, old_ref, new_ref, overlap_until, actor, detail, at FROM key_rotations
      WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR subject = $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY key_rotations.id DESC LIMIT $4`,
    [query.kind ?? null, query.subject ?? null, query.before ?? null, limit],
  );
  return rows.map(fromRow);
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
