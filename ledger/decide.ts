// Deciding a writer batch: which requests become entries, which are refused and why, in journal
// order, exactly as PostgreSQL will re-check them. Pure: the writer's two paths (the careful one
// in writer.ts, the pipelined one in pipeline.ts) first gather what it needs, from PostgreSQL or
// from their caches.
import type { AppendRequest, AppendResult, JournalEntry, JsonObject, Rejection, RejectionCode } from './types.ts';

export interface BatchItem {
  request: AppendRequest;
  /** requestHash(request), hex. */
  hash: string;
}

export interface AssetInfo {
  id: number;
  scale: number;
}

export interface BalanceState {
  balance: bigint;
  /** null: unbounded. */
  floor: bigint | null;
}

/** What PostgreSQL already holds under the batch's idempotency keys. */
export interface KnownKeys {
  entries: Map<string, { id: bigint; hash: string }>;
  rejections: Map<string, { hash: string; rejection: Rejection }>;
}

export interface Triage {
  /** Answers known before deciding anything (conflicts, recorded rejections). */
  results: (AppendResult | undefined)[];
  /** The first request of the batch with each key; later ones are answered from it. */
  firstIndexByKey: Map<string, number>;
  /** Requests to decide, in batch order. */
  candidates: number[];
  /** Requests whose key names a stored entry with the same hash: answered with that entry. */
  replayIds: Map<number, bigint>;
}

export const balanceKey = (accountId: bigint, assetId: number): string => `${accountId}:${assetId}`;

/** Sorts the batch by what its keys already name; `known` absent means every key is new. */
export function triage(batch: readonly BatchItem[], known?: KnownKeys): Triage {
  const results: (AppendResult | undefined)[] = Array.from({ length: batch.length }, () => undefined);
  const firstIndexByKey = new Map<string, number>();
  const candidates: number[] = [];
  const replayIds = new Map<number, bigint>();
  batch.forEach((item, index) => {
    const key = item.request.idempotencyKey;
    const entry = known?.entries.get(key);
    const rejection = known?.rejections.get(key);
    if (entry) {
      if (entry.hash === item.hash) replayIds.set(index, entry.id);
      else results[index] = { status: 'conflict', idempotencyKey: key, existing: 'entry' };
    } else if (rejection) {
      results[index] =
        rejection.hash === item.hash
          ? { status: 'rejected', rejection: rejection.rejection, replayed: true }
          : { status: 'conflict', idempotencyKey: key, existing: 'rejection' };
    } else if (!firstIndexByKey.has(key)) {
      firstIndexByKey.set(key, index);
      candidates.push(index);
    }
  });
  return { results, firstIndexByKey, candidates, replayIds };
}

export interface ReversalContext {
  originals: Map<bigint, JournalEntry>;
  reversedInDatabase: Set<bigint>;
}

/** Refusals that do not depend on balances: unknown assets, reversals that cannot be. */
export function screen(
  batch: readonly BatchItem[],
  candidates: readonly number[],
  assets: Map<string, AssetInfo>,
  reversals: ReversalContext,
): { accepted: number[]; rejected: Map<number, Rejection> } {
  const rejected = new Map<number, Rejection>();
  const reversedInBatch = new Set<bigint>();
  for (const index of candidates) {
    const request = batch[index]!.request;
    const unknown = request.postings.find((p) => !assets.has(p.asset));
    if (unknown) {
      rejected.set(index, reject('unknown_asset', `asset ${unknown.asset} is not registered`, { asset: unknown.asset }));
      continue;
    }
    if (request.reverses !== undefined) {
      const problem = reversalProblem(request, reversals.originals.get(request.reverses), reversals.reversedInDatabase, reversedInBatch);
      if (problem) {
        rejected.set(index, problem);
        continue;
      }
      reversedInBatch.add(request.reverses);
    }
  }
  return { accepted: candidates.filter((index) => !rejected.has(index)), rejected };
}

export interface DecideInOrder {
  batch: readonly BatchItem[];
  accepted: readonly number[];
  assets: Map<string, AssetInfo>;
  accountIds: Map<string, bigint>;
  /** Every (account, asset) the accepted requests touch; moved in place as entries are made. */
  balances: Map<string, BalanceState>;
  firstEntryId: bigint;
  now: Date;
}

/**
 * Entry by entry, in batch order: a request that would take an account below its floor is
 * refused, and the balances move for every request that is not. The caller's `balances` end
 * up as they will be after the batch commits.
 */
export function decideInOrder(input: DecideInOrder): { created: { index: number; entry: JournalEntry }[]; rejected: Map<number, Rejection> } {
  const { batch, assets, accountIds, balances, now } = input;
  const created: { index: number; entry: JournalEntry }[] = [];
  const rejected = new Map<number, Rejection>();
  let nextId = input.firstEntryId;
  for (const index of input.accepted) {
    const { request, hash } = batch[index]!;
    const deltas = new Map<string, bigint>();
    for (const p of request.postings) {
      const assetId = assets.get(p.asset)!.id;
      const from = balanceKey(accountIds.get(p.source)!, assetId);
      const to = balanceKey(accountIds.get(p.destination)!, assetId);
      deltas.set(from, (deltas.get(from) ?? 0n) - p.amount);
      deltas.set(to, (deltas.get(to) ?? 0n) + p.amount);
    }
    const breach = findFloorBreach(request, deltas, balances, accountIds, assets);
    if (breach) {
      rejected.set(index, breach);
      continue;
    }
    for (const [key, delta] of deltas) balances.get(key)!.balance += delta;
    created.push({
      index,
      entry: {
        id: nextId,
        kind: request.kind,
        idempotencyKey: request.idempotencyKey,
        requestHash: hash,
        effectiveAt: request.effectiveAt ?? now,
        insertedAt: now,
        sourceRef: request.sourceRef ?? null,
        metadata: request.metadata ?? {},
        reverses: request.reverses ?? null,
        postings: request.postings.map((p, i) => ({ index: i, source: p.source, destination: p.destination, asset: p.asset, amount: p.amount })),
      },
    });
    nextId += 1n;
  }
  return { created, rejected };
}

/**
 * Every request's answer. A key seen twice in one batch: the later request is answered like a
 * retry of the first (the same entry or rejection, or a conflict when the body differs).
 */
export function assembleResults(
  batch: readonly BatchItem[],
  triaged: Triage,
  created: readonly { index: number; entry: JournalEntry }[],
  rejected: Map<number, Rejection>,
  replayed: Map<number, JournalEntry>,
): AppendResult[] {
  const results = triaged.results;
  for (const { index, entry } of created) results[index] = { status: 'created', entry };
  for (const [index, rejection] of rejected) results[index] = { status: 'rejected', rejection, replayed: false };
  for (const [index, entry] of replayed) results[index] = { status: 'replayed', entry };
  batch.forEach((item, index) => {
    if (results[index]) return;
    const first = triaged.firstIndexByKey.get(item.request.idempotencyKey)!;
    const firstResult = results[first]!;
    if (batch[first]!.hash !== item.hash) {
      results[index] = { status: 'conflict', idempotencyKey: item.request.idempotencyKey, existing: firstResult.status === 'rejected' ? 'rejection' : 'entry' };
    } else if (firstResult.status === 'created' || firstResult.status === 'replayed') {
      results[index] = { status: 'replayed', entry: firstResult.entry };
    } else if (firstResult.status === 'rejected') {
      results[index] = { status: 'rejected', rejection: firstResult.rejection, replayed: true };
    } else {
      results[index] = firstResult;
    }
  });
  return results as AppendResult[];
}

function reject(code: RejectionCode, message: string, detail: JsonObject): Rejection {
  return { code, message, detail };
}

function reversalProblem(
  request: AppendRequest,
  original: JournalEntry | undefined,
  reversedInDatabase: Set<bigint>,
  reversedInBatch: Set<bigint>,
): Rejection | null {
  const target = request.reverses!;
  if (!original) return reject('reversal_target_missing', `journal entry ${target} does not exist`, { reverses: target.toString() });
  if (reversedInDatabase.has(target) || reversedInBatch.has(target)) {
    return reject('already_reversed', `journal entry ${target} has already been reversed`, { reverses: target.toString() });
  }
  const mirrors =
    original.postings.length === request.postings.length &&
    original.postings.every((o, i) => {
      const p = request.postings[i]!;
      return p.source === o.destination && p.destination === o.source && p.asset === o.asset && p.amount === o.amount;
    });
  if (!mirrors) {
    return reject('reversal_mismatch', `a reversal must mirror every posting of entry ${target}`, { reverses: target.toString() });
  }
  return null;
}

function findFloorBreach(
  request: AppendRequest,
  deltas: Map<string, bigint>,
  balances: Map<string, BalanceState>,
  accountIds: Map<string, bigint>,
  assets: Map<string, AssetInfo>,
): Rejection | null {
  for (const [key, delta] of deltas) {
    const state = balances.get(key)!;
    if (state.floor === null || delta >= 0n || state.balance + delta >= state.floor) continue;
    const posting = request.postings.find((p) => balanceKey(accountIds.get(p.source)!, assets.get(p.asset)!.id) === key)!;
    return reject('floor_breach', `${posting.source} would go below its floor in ${posting.asset}`, {
      account: posting.source,
      asset: posting.asset,
      balance: state.balance.toString(),
      floor: state.floor.toString(),
      shortfall: (state.floor - (state.balance + delta)).toString(),
    });
  }
  return null;
}
