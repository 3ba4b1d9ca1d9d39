// Refill targets and refills of chains whose passes run outside relayer/ (NEAR signing funds,
// paid by sweeps/'s NEAR hot account). relayer/ owns both tables, so those passes keep their
// records through these functions: a target made or updated, the refills in flight, one stored
// before it is sent, and closed once its outcome is known.
import { firstRow, run, runFirst, runOne, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

export interface ChainRefillTarget {
  name: string;
  address: string;
  /** The ledger account the refill pays into. */
  account: string;
  fundBelow: bigint;
  fundTo: bigint;
  dailyCap: bigint;
}

/** A refill signed and stored, not yet closed. */
export interface OpenRefill {
  id: string;
  target: string;
  amount: bigint;
  txHash: string;
  rawTx: string;
}

/** Makes or updates a `balance` target on `chain` (idempotent: an unchanged target is not written). */
export async function ensureRefillTargetOn(db: Queryable, chain: string, target: ChainRefillTarget): Promise<void> {
  await run(
    db,
    sqlBuilder
      .insertInto('refill_targets')
      .values({ name: target.name, chain, kind: 'balance', address: target.address, entry_point: null, account: target.account, fund_below: target.fundBelow, fund_to: target.fundTo, daily_cap: target.dailyCap })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ fund_below: (eb) => eb.ref('excluded.fund_below'), fund_to: (eb) => eb.ref('excluded.fund_to'), daily_cap: (eb) => eb.ref('excluded.daily_cap') })
          .where(sql<boolean>`(refill_targets.fund_below, refill_targets.fund_to, refill_targets.daily_cap) IS DISTINCT FROM (excluded.fund_below, excluded.fund_to, excluded.daily_cap)`),
      ),
  );
}

export async function refillTargetsOn(db: Queryable, chain: string): Promise<ChainRefillTarget[]> {
  const rows = await run(db, sqlBuilder.selectFrom('refill_targets').select(['name', 'address', 'account', 'fund_below', 'fund_to', 'daily_cap']).where('chain', '=', chain).orderBy('name'));
  return rows.map((r) => ({ name: r.name, address: r.address, account: r.account, fundBelow: BigInt(r.fund_below), fundTo: BigInt(r.fund_to), dailyCap: BigInt(r.daily_cap) }));
}

/** The ledger account a target's refills pay into. */
export async function refillTargetAccount(db: Queryable, name: string): Promise<string> {
  return firstRow(await run(db, sqlBuilder.selectFrom('refill_targets').select('account').where('name', '=', name)), `refill target ${name}`).account;
}

const openColumns = ['r.id', 'r.target', 'r.amount', 'r.tx_hash', 'r.raw_tx'] as const;
const openRefill = (r: { id: bigint; target: string; amount: string; tx_hash: string; raw_tx: string }): OpenRefill => ({ id: r.id.toString(), target: r.target, amount: BigInt(r.amount), txHash: r.tx_hash, rawTx: r.raw_tx });

/** The refills in flight to targets on `chain`, oldest first. */
export async function openRefillsOn(db: Queryable, chain: string): Promise<OpenRefill[]> {
  const rows = await run(
    db,
    sqlBuilder.selectFrom('refills as r').innerJoin('refill_targets as t', 't.name', 'r.target').select(openColumns).where('t.chain', '=', chain).where('r.status', '=', 'submitted').orderBy('r.id'),
  );
  return rows.map(openRefill);
}

export async function refillInFlight(db: Queryable, target: string): Promise<boolean> {
  return (await runFirst(db, sqlBuilder.selectFrom('refills').select('id').where('target', '=', target).where('status', '=', 'submitted'))) !== undefined;
}

/** What the refills in flight on `chain` will take from the hot account. */
export async function refillsInFlightAmountOn(db: Queryable, chain: string): Promise<bigint> {
  const row = await runOne(
    db,
    sqlBuilder.selectFrom('refills as r').innerJoin('refill_targets as t', 't.name', 'r.target').select(sql<string>`coalesce(sum(r.amount), 0)::text`.as('reserved')).where('t.chain', '=', chain).where('r.status', '=', 'submitted'),
  );
  return BigInt(row.reserved);
}

/** The highest nonce `from` used on a refill still in flight: its next transaction goes above it. */
export async function highestOpenRefillNonce(db: Queryable, from: string): Promise<bigint | null> {
  const row = await runOne(db, sqlBuilder.selectFrom('refills').select((eb) => eb.fn.max('nonce').as('nonce')).where('from_address', '=', from).where('status', '=', 'submitted'));
  return row.nonce;
}

/** Stores a signed refill before it is sent: a crash after this sends these bytes again, never signs anew. */
export async function recordSignedRefill(
  db: Queryable,
  refill: { target: string; amount: bigint; balanceBefore: bigint; from: string; nonce: bigint; txHash: string; rawTx: string },
): Promise<OpenRefill> {
  const row = await runOne(
    db,
    sqlBuilder
      .insertInto('refills')
      .values({ target: refill.target, amount: refill.amount, balance_before: refill.balanceBefore, status: 'submitted', from_address: refill.from, nonce: refill.nonce, tx_hash: refill.txHash, raw_tx: refill.rawTx })
      .returning(['id', 'target', 'amount', 'tx_hash', 'raw_tx']),
  );
  return openRefill(row);
}

/** Whether the refill is still in flight, its row locked until the transaction ends (so one closing wins). */
export async function lockOpenRefill(db: Queryable, id: string): Promise<boolean> {
  const row = await runFirst(db, sqlBuilder.selectFrom('refills').select('status').where('id', '=', BigInt(id)).forUpdate());
  return row?.status === 'submitted';
}

/** Closes a refill in flight: confirmed or failed, with its fee and entry when it was booked. */
export async function closeRefill(db: Queryable, id: string, closing: { status: 'confirmed' | 'failed'; reason: string | null; fee?: bigint; entryId?: bigint }): Promise<void> {
  await run(
    db,
    sqlBuilder
      .updateTable('refills')
      .set({ status: closing.status, status_reason: closing.reason, fee: closing.fee ?? null, entry_id: closing.entryId ?? null, settled_at: sql<Date>`now()` })
      .where('id', '=', BigInt(id))
      .where('status', '=', 'submitted'),
  );
}
