// Agent spends (SPEC Flow 5): request → policy decision → (approval) → execution (execute.ts).
//
// The decision runs under the ledger writer's lock and the wallet's row lock, in one
// transaction: read the policy, count the windows, judge, and — when allowed — append the hold
// (`wallets:<id>:available → wallets:<id>:held`) and its spend-window row. So any number of
// concurrent requests are judged one after another against counts that include every earlier
// hold: together they can never pass a limit. Everything that follows a decision (execution,
// the approval timeout, webhooks) is an outbox row written in that same transaction.
//
// Fail closed: no policy, a policy that does not parse, a frozen wallet, or a decision that
// cannot be made (the chain cannot estimate the transaction) rejects the spend; nothing moves.
import { createHash } from 'node:crypto';
import { evmTransferCall, SimulationError } from '../chains/index.ts';
import type { Selectable, UpdateObject } from 'kysely';
import type { Database, Logger, Pool, PoolClient, Queryable } from '../infra/index.ts';
import { enqueue, isPgError, randomId, run, runFirst, runOne, sql, sqlBuilder, withTransaction } from '../infra/index.ts';
import {
  accountBalance,
  canonicalJson,
  getAsset,
  spendEntryKinds,
  spendWindowUsage,
  spendWindowsProjection,
  type AppendRequest,
  type JsonObject,
  type LedgerTransaction,
  type LedgerWriter,
} from '../ledger/index.ts';
import { windowStart, type WindowSpec } from './windows.ts';
import { evaluatePolicy, windowQueries, type Policy, type Severity, type SpendFacts, type Violation, type WalletUsage } from './policy.ts';
import { currentPolicy, freezeWallet, lockDownWallet, lockWallet, recordWalletEvent, requireWallet, walletAccounts, walletChain, WalletError, type Address, type Hex, type Wallet } from './wallets.ts';

export const spendStatuses = ['pending', 'awaiting_approval', 'allowed', 'submitted', 'confirmed', 'rejected', 'expired', 'failed'] as const;
export type SpendStatus = (typeof spendStatuses)[number];

export interface SpendEstimate {
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** How a decision learns what the transaction will cost; throws when the chain cannot say. */
export type GasEstimator = (tx: { from: Address; to: Address; value: bigint; data: Hex }) => Promise<SpendEstimate>;

/** The chain refused the transaction in simulation (it would revert): a reason to reject, not to retry. */
export { SimulationError as SpendSimulationError };

export interface SpendContext {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  estimateGas: GasEstimator;
  /** The decision's time; tests pin it to walk windows across midnight and DST. */
  clock?: () => Date;
}

export interface Spend {
  id: string;
  walletId: string;
  idempotencyKey: string;
  requestedBy: string;
  asset: string;
  amount: bigint;
  recipient: Address;
  txTo: Address;
  txValue: bigint;
  txData: Hex;
  /** Calldata the agent supplied; null for transfers coffer built. */
  callData: Hex | null;
  status: SpendStatus;
  code: string | null;
  violations: Violation[];
  policyVersion: number | null;
  approvalDeadline: Date | null;
  decidedBy: string | null;
  gasLimit: bigint | null;
  maxFeePerGas: bigint | null;
  maxPriorityFeePerGas: bigint | null;
  gasReserve: bigint | null;
  holdEntryId: bigint | null;
  nonce: number | null;
  txHash: Hex | null;
  rawTx: Hex | null;
  fee: bigint | null;
  settledEntryId: bigint | null;
  createdAt: Date;
  updatedAt: Date;
}

const spendColumns = [
  'id',
  'wallet_id',
  'idempotency_key',
  'request_hash',
  'requested_by',
  'asset',
  'amount',
  'recipient',
  'tx_to',
  'tx_value',
  'tx_data',
  'status',
  'code',
  'violations',
  'policy_version',
  'approval_deadline',
  'decided_by',
  'gas_limit',
  'max_fee_per_gas',
  'max_priority_fee_per_gas',
  'gas_reserve',
  'hold_entry_id',
  'nonce',
  'tx_hash',
  'raw_tx',
  'fee',
  'settled_entry_id',
  'created_at',
  'updated_at',
] as const;
type SpendRow = Pick<Selectable<Database['spends']>, (typeof spendColumns)[number]>;

const big = (text: string | null) => (text === null ? null : BigInt(text));
// The table's CHECKs hold what the casts say: addresses and calldata are 0x-hex, status one of
// spendStatuses; violations are written by `transition` only, as Violation[].
const toSpend = (r: SpendRow): Spend => ({
  id: r.id,
  walletId: r.wallet_id,
  idempotencyKey: r.idempotency_key,
  requestedBy: r.requested_by,
  asset: r.asset,
  amount: BigInt(r.amount),
  recipient: r.recipient as Address,
  txTo: r.tx_to as Address,
  txValue: BigInt(r.tx_value),
  txData: r.tx_data as Hex,
  // Calldata is the agent's only on ETH spends; a token spend's is the transfer coffer built.
  callData: r.asset === walletChain.nativeAsset.code && r.tx_data !== '0x' ? (r.tx_data as Hex) : null,
  status: r.status as SpendStatus,
  code: r.code,
  violations: r.violations as unknown as Violation[],
  policyVersion: r.policy_version,
  approvalDeadline: r.approval_deadline,
  decidedBy: r.decided_by,
  gasLimit: big(r.gas_limit),
  maxFeePerGas: big(r.max_fee_per_gas),
  maxPriorityFeePerGas: big(r.max_priority_fee_per_gas),
  gasReserve: big(r.gas_reserve),
  holdEntryId: r.hold_entry_id,
  nonce: r.nonce === null ? null : Number(r.nonce),
  txHash: r.tx_hash as Hex | null,
  rawTx: r.raw_tx as Hex | null,
  fee: big(r.fee),
  settledEntryId: r.settled_entry_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const selectSpends = () => sqlBuilder.selectFrom('spends').select(spendColumns);

export async function getSpend(db: Queryable, id: string): Promise<Spend | null> {
  const row = await runFirst(db, selectSpends().where('id', '=', id));
  return row ? toSpend(row) : null;
}

export async function listSpends(db: Queryable, walletId: string, options: { limit: number; status?: SpendStatus; before?: Date }): Promise<Spend[]> {
  let query = selectSpends().where('wallet_id', '=', walletId);
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  if (options.before !== undefined) query = query.where('created_at', '<', options.before);
  return (await run(db, query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit))).map(toSpend);
}

/** Every wallet's spends waiting for an owner or operator to approve, the closest deadline first. */
export async function listSpendsAwaitingApproval(db: Queryable, options: { limit: number }): Promise<Spend[]> {
  const rows = await run(
    db,
    selectSpends()
      .where('status', '=', 'awaiting_approval')
      .orderBy((eb) => eb.ref('approval_deadline'), (ob) => ob.asc().nullsLast())
      .orderBy('created_at')
      .orderBy('id')
      .limit(options.limit),
  );
  return rows.map(toSpend);
}

async function lockSpend(client: PoolClient, id: string): Promise<Spend> {
  const row = await runFirst(client, selectSpends().where('id', '=', id).forUpdate());
  if (!row) throw new WalletError('spend_not_found', `no spend ${id}`);
  return toSpend(row);
}

// ── Request ─────────────────────────────────────────────────────────────────────────────────

export interface SpendRequestBody {
  to: string;
  asset: string;
  /** Minor units, as a decimal string. */
  amount: string;
  /** ETH only: calldata for a contract call that carries `amount` as value. */
  data?: string;
}

const newSpendId = () => randomId(20, 'spd_');

/**
 * Records a spend request and asks for its decision (202 in the API). The same idempotency key
 * with the same body returns the spend it created, whatever became of it; with another body
 * it is a conflict.
 */
export async function requestSpend(
  pool: Pool,
  options: { walletId: string; idempotencyKey: string; body: SpendRequestBody; requestedBy: string },
): Promise<{ spend: Spend; replayed: boolean }> {
  const { walletId, idempotencyKey, body, requestedBy } = options;
  if (idempotencyKey.length < 1 || idempotencyKey.length > 200) throw new WalletError('invalid_idempotency_key', 'Idempotency-Key must be 1–200 characters');
  const hash = createHash('sha256').update(canonicalJson(body as unknown as JsonObject)).digest('hex');
  const existing = async (db: Queryable) => {
    const row = await runFirst(db, selectSpends().where('wallet_id', '=', walletId).where('idempotency_key', '=', idempotencyKey));
    if (!row) return null;
    if (row.request_hash !== hash) throw new WalletError('idempotency_conflict', `Idempotency-Key ${idempotencyKey} was used with a different request`);
    return { spend: toSpend(row), replayed: true };
  };
  const before = await existing(pool);
  if (before) return before;

  const asset = await getAsset(pool, body.asset);
  const native = body.asset === walletChain.nativeAsset.code;
  if (!asset || (!native && (asset.chain !== walletChain.chain || !asset.contract))) {
    throw new WalletError('unknown_asset', `${body.asset} is not ${walletChain.nativeAsset.code} or a registered ${walletChain.chain} token`);
  }
  if (!native && body.data !== undefined) throw new WalletError('invalid_spend', 'data goes with ETH spends only; token spends are transfers coffer builds');
  const amount = BigInt(body.amount);
  const recipient = body.to as Address;
  const tx = evmTransferCall({ recipient, amount, contract: native ? null : asset.contract, ...(body.data !== undefined ? { data: body.data } : {}) });

  const id = newSpendId();
  try {
    return await withTransaction(pool, async (client) => {
      const row = await runFirst(
        client,
        sqlBuilder
          .insertInto('spends')
          .values({
            id,
            wallet_id: walletId,
            idempotency_key: idempotencyKey,
            request_hash: hash,
            requested_by: requestedBy,
            asset: body.asset,
            amount,
            recipient,
            tx_to: tx.to,
            tx_value: tx.value,
            tx_data: tx.data,
            status: 'pending',
          })
          .onConflict((conflict) => conflict.columns(['wallet_id', 'idempotency_key']).doNothing())
          .returning(spendColumns),
      );
      if (!row) {
        // A concurrent request with the same key inserted first: answer as its replay.
        const raced = await existing(client);
        if (!raced) throw new WalletError('idempotency_conflict', `Idempotency-Key ${idempotencyKey} is being used by a concurrent request`);
        return raced;
      }
      await recordWalletEvent(client, { walletId, kind: 'spend.requested', actor: requestedBy, spendId: id, detail: { asset: body.asset, amount: amount.toString(), to: recipient } });
      await enqueue(client, [{ queue: 'spends', name: 'decide-spend', dedupeKey: `spend:${id}:decide`, payload: { spendId: id } }]);
      return { spend: toSpend(row), replayed: false };
    });
  } catch (error) {
    if (isPgError(error, '23503')) throw new WalletError('wallet_not_found', `no wallet ${walletId}`);
    throw error;
  }
}

// ── Decision ────────────────────────────────────────────────────────────────────────────────

/** The gas a decision estimated, stored with the spend when it awaits approval or is allowed. */
export function storedEstimate(spend: Spend): SpendEstimate {
  const { gasLimit, maxFeePerGas, maxPriorityFeePerGas } = spend;
  if (gasLimit === null || maxFeePerGas === null || maxPriorityFeePerGas === null) throw new WalletError('spend_state_invalid', `spend ${spend.id} (${spend.status}) has no stored gas estimate`);
  return { gasLimit, maxFeePerGas, maxPriorityFeePerGas };
}

const factsOf = (spend: Spend, at: Date): SpendFacts => ({ asset: spend.asset, amount: spend.amount, recipient: spend.recipient, txTo: spend.txTo, callData: spend.callData, at });

/** The wallet's usage in every window the policy names, as of `at`: un-released holds only. */
export async function walletUsage(db: Queryable, walletId: string, policy: Policy, at: Date): Promise<WalletUsage> {
  return spendWindowUsage(db, walletId, windowQueries(policy, at), at);
}

export interface WindowBudget {
  rule: string;
  type: 'window_limit' | 'velocity';
  asset: string | null;
  window: WindowSpec;
  since: string;
  /** Amount (minor units) for window limits, a count of spends for velocity. */
  max: string;
  used: string;
  remaining: string;
}

/** What is left in every window of the wallet's current policy, now. */
export async function walletBudgets(db: Queryable, walletId: string, at = new Date()): Promise<WindowBudget[]> {
  const stored = await currentPolicy(db, walletId);
  if (!stored) return [];
  const { policy } = stored;
  const usage = await walletUsage(db, walletId, policy, at);
  return policy.rules.flatMap((rule): WindowBudget[] => {
    const used = usage.windows.get(rule.id) ?? { amount: 0n, count: 0 };
    const since = (window: WindowSpec) => windowStart(window, at, policy.timeZone).toISOString();
    if (rule.type === 'window_limit') {
      const max = BigInt(rule.max);
      return [{ rule: rule.id, type: rule.type, asset: rule.asset, window: rule.window, since: since(rule.window), max: rule.max, used: used.amount.toString(), remaining: (max > used.amount ? max - used.amount : 0n).toString() }];
    }
    if (rule.type === 'velocity') {
      return [{ rule: rule.id, type: rule.type, asset: null, window: rule.window, since: since(rule.window), max: String(rule.max), used: String(used.count), remaining: String(Math.max(0, rule.max - used.count)) }];
    }
    return [];
  });
}

/** A status change and what it learned; a field left out (or null) keeps the spend's value. */
interface Transition {
  status: SpendStatus;
  code?: string | null;
  violations?: Violation[];
  policyVersion?: number | null;
  approvalDeadline?: Date | null;
  decidedBy?: string | null;
  holdEntryId?: bigint | null;
  estimate?: SpendEstimate | null;
  /** The signed transaction, stored before it is broadcast. */
  signed?: { nonce: number; txHash: Hex; rawTx: Hex };
  fee?: bigint;
  settledEntryId?: bigint;
}

/** Moves a spend to a new status, with its audit event and webhook, on the caller's transaction. */
export async function transition(client: Queryable, spend: Spend, wallet: Pick<Wallet, 'id' | 'webhookUrl'>, change: Transition & { detail?: JsonObject; actor: string }): Promise<Spend> {
  const set: UpdateObject<Database, 'spends'> = { status: change.status, updated_at: sql<Date>`now()` };
  if (change.code != null) set.code = change.code;
  if (change.violations) set.violations = JSON.stringify(change.violations);
  if (change.policyVersion != null) set.policy_version = change.policyVersion;
  if (change.approvalDeadline != null) set.approval_deadline = change.approvalDeadline;
  if (change.decidedBy != null) set.decided_by = change.decidedBy;
  if (change.holdEntryId != null) set.hold_entry_id = change.holdEntryId;
  if (change.estimate) {
    set.gas_limit = change.estimate.gasLimit;
    set.max_fee_per_gas = change.estimate.maxFeePerGas;
    set.max_priority_fee_per_gas = change.estimate.maxPriorityFeePerGas;
    set.gas_reserve = change.estimate.gasLimit * change.estimate.maxFeePerGas;
  }
  if (change.signed) {
    set.nonce = BigInt(change.signed.nonce);
    set.tx_hash = change.signed.txHash;
    set.raw_tx = change.signed.rawTx;
  }
  if (change.fee !== undefined) set.fee = change.fee;
  if (change.settledEntryId !== undefined) set.settled_entry_id = change.settledEntryId;
  const updated = toSpend(await runOne(client, sqlBuilder.updateTable('spends').set(set).where('id', '=', spend.id).returning(spendColumns)));
  await recordWalletEvent(client, {
    walletId: wallet.id,
    kind: `spend.${change.status}`,
    actor: change.actor,
    spendId: spend.id,
    detail: { ...(change.code ? { code: change.code } : {}), ...(change.detail ?? {}) },
  });
  if (wallet.webhookUrl) {
    await enqueue(client, [{ queue: 'webhooks', name: 'deliver-webhook', dedupeKey: `webhook:${spend.id}:${change.status}`, payload: { spendId: spend.id, status: change.status } }]);
  }
  return updated;
}

export type DecisionOutcome = { spend: Spend; outcome: 'allow' | 'approve' | 'reject' | 'freeze' | 'lockdown' | 'already_decided' };

/** Holds the funds and reserves the budget; the caller has checked the policy. */
async function holdAndAllow(tx: LedgerTransaction, wallet: Wallet, spend: Spend, at: Date, estimate: SpendEstimate, policyVersion: number, actor: string): Promise<Spend | { insufficient: string }> {
  const accounts = walletAccounts(wallet.id);
  const reserve = estimate.gasLimit * estimate.maxFeePerGas;
  const feeAsset = walletChain.feeAsset.code;
  const ethNeeded = reserve + (spend.asset === feeAsset ? spend.amount : 0n);
  const ethAvailable = await accountBalance(tx.client, accounts.available, feeAsset);
  if (spend.asset !== feeAsset) {
    const tokenAvailable = await accountBalance(tx.client, accounts.available, spend.asset);
    if (tokenAvailable < spend.amount) return { insufficient: `${tokenAvailable} ${spend.asset} available, ${spend.amount} asked` };
  }
  if (ethAvailable < ethNeeded) return { insufficient: `${ethAvailable} wei available, ${ethNeeded} needed (${spend.asset === feeAsset ? `${spend.amount} + ` : ''}${reserve} gas reserve)` };

  const postings = [{ source: accounts.available, destination: accounts.held, asset: spend.asset, amount: spend.amount }];
  if (reserve > 0n) postings.push({ source: accounts.available, destination: accounts.held, asset: feeAsset, amount: reserve });
  const request: AppendRequest = {
    kind: spendEntryKinds.hold,
    idempotencyKey: `spend:${spend.id}:hold`,
    effectiveAt: at,
    sourceRef: spend.id,
    metadata: { walletId: wallet.id, spendId: spend.id, asset: spend.asset, amount: spend.amount.toString(), gasReserve: reserve.toString(), to: spend.recipient, policyVersion },
    postings,
  };
  const [result] = await tx.append([request]);
  if (!result || result.status !== 'created') throw new WalletError('ledger_refused', `the ledger did not create the hold of ${spend.id}: ${result?.status ?? 'no answer'}`);
  await spendWindowsProjection.apply(tx.client, spendWindowsProjection.table, result.entry.id - 1n, result.entry.id);
  const allowed = await transition(tx.client, spend, wallet, { status: 'allowed', holdEntryId: result.entry.id, policyVersion, decidedBy: actor, estimate, actor, violations: [] });
  await enqueue(tx.client, [{ queue: 'spends', name: 'execute-spend', dedupeKey: `spend:${spend.id}:execute`, payload: { spendId: spend.id } }]);
  return allowed;
}

async function refuse(tx: LedgerTransaction, wallet: Wallet, spend: Spend, status: 'rejected' | 'expired', code: string, violations: Violation[], actor: string, policyVersion?: number): Promise<Spend> {
  return transition(tx.client, spend, wallet, { status, code, violations, actor, decidedBy: actor, ...(policyVersion !== undefined ? { policyVersion } : {}) });
}

const pseudoViolation = (code: string, message: string, severity: Severity = 'reject'): Violation => ({ rule: code, type: 'system', code, severity, message, detail: {} });

/** The policy job: estimates the transaction, then judges and (if allowed) holds in one transaction. */
export async function decideSpend(context: SpendContext, spendId: string): Promise<DecisionOutcome> {
  const { pool, writer } = context;
  const first = await getSpend(pool, spendId);
  if (!first) throw new WalletError('spend_not_found', `no spend ${spendId}`);
  if (first.status !== 'pending') return { spend: first, outcome: 'already_decided' };
  const wallet = await requireWallet(pool, first.walletId);

  let estimate: SpendEstimate | null = null;
  let simulationFailure: string | null = null;
  try {
    estimate = await context.estimateGas({ from: wallet.address, to: first.txTo, value: first.txValue, data: first.txData });
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error; // the chain is unreachable: BullMQ retries; exhausted, the spend is rejected
    simulationFailure = error.message;
  }

  return writer.transaction(async (tx): Promise<DecisionOutcome> => {
    const locked = await lockWallet(tx.client, first.walletId);
    const spend = await lockSpend(tx.client, spendId);
    if (spend.status !== 'pending') return { spend, outcome: 'already_decided' };
    const at = context.clock?.() ?? new Date();
    const reject = async (code: string, message: string, version?: number) => ({
      spend: await refuse(tx, locked, spend, 'rejected', code, [pseudoViolation(code, message)], 'policy', version),
      outcome: 'reject' as const,
    });
    if (locked.frozenAt) return reject('wallet_frozen', `the wallet is frozen${locked.frozenReason ? `: ${locked.frozenReason}` : ''}`);
    let stored;
    try {
      stored = await currentPolicy(tx.client, locked.id);
    } catch {
      return reject('policy_unreadable', 'the wallet policy could not be read');
    }
    if (!stored) return reject('no_policy', 'the wallet has no policy; a wallet without one allows nothing');
    if (simulationFailure !== null || !estimate) return reject('simulation_failed', `the transaction would fail: ${simulationFailure ?? 'no estimate'}`, stored.version);

    const verdict = evaluatePolicy(stored.policy, factsOf(spend, at), await walletUsage(tx.client, locked.id, stored.policy, at));
    if (verdict.outcome === 'allow') {
      const held = await holdAndAllow(tx, locked, spend, at, estimate, stored.version, 'policy');
      if ('insufficient' in held) return reject('insufficient_funds', held.insufficient, stored.version);
      return { spend: held, outcome: 'allow' };
    }
    if (verdict.outcome === 'approve') {
      const deadline = new Date(at.getTime() + verdict.approvalTimeoutSeconds * 1000);
      const waiting = await transition(tx.client, spend, locked, {
        status: 'awaiting_approval',
        violations: verdict.violations,
        policyVersion: stored.version,
        approvalDeadline: deadline,
        estimate,
        actor: 'policy',
        detail: { deadline: deadline.toISOString() },
      });
      await enqueue(tx.client, [{ queue: 'spends', name: 'expire-approval', dedupeKey: `spend:${spend.id}:expire`, payload: { spendId: spend.id }, runAfter: deadline }]);
      return { spend: waiting, outcome: 'approve' };
    }
    const rejected = await refuse(tx, locked, spend, 'rejected', verdict.code, verdict.violations, 'policy', stored.version);
    if (verdict.outcome === 'freeze') await freezeWallet(tx.client, locked.id, `spend ${spend.id} broke ${verdict.code}`, 'policy');
    if (verdict.outcome === 'lockdown') await lockDownWallet(tx.client, locked.id, `spend ${spend.id} broke ${verdict.code}`, 'policy');
    return { spend: rejected, outcome: verdict.outcome };
  });
}

/** Called when the decision job has failed for good (the chain never answered): fail closed. */
export async function rejectUndecidable(context: Pick<SpendContext, 'writer'>, spendId: string, reason: string): Promise<void> {
  await context.writer.transaction(async (tx) => {
    const spend = await lockSpend(tx.client, spendId);
    if (spend.status !== 'pending') return;
    const wallet = await lockWallet(tx.client, spend.walletId);
    await refuse(tx, wallet, spend, 'rejected', 'decision_unavailable', [pseudoViolation('decision_unavailable', reason)], 'policy');
  });
}

// ── Approval ────────────────────────────────────────────────────────────────────────────────

async function awaitingApproval(tx: LedgerTransaction, spendId: string, walletId?: string) {
  const spend = await lockSpend(tx.client, spendId);
  if (walletId && spend.walletId !== walletId) throw new WalletError('spend_not_found', `no spend ${spendId}`);
  const wallet = await lockWallet(tx.client, spend.walletId);
  return { spend, wallet };
}

/**
 * The owner (or an operator) approves: the rules that asked for approval are waived, every
 * other rule is checked again now, and the hold is taken as in an allow.
 */
export async function approveSpend(context: Pick<SpendContext, 'writer' | 'clock'>, spendId: string, actor: string): Promise<Spend> {
  const decided = await context.writer.transaction(async (tx) => {
    const { spend, wallet } = await awaitingApproval(tx, spendId);
    if (spend.status !== 'awaiting_approval') throw new WalletError('spend_not_awaiting_approval', `spend ${spendId} is ${spend.status}`);
    const at = context.clock?.() ?? new Date();
    // Too late: the expiry commits, and the approver is told so after it has.
    if (spend.approvalDeadline && at >= spend.approvalDeadline) return refuse(tx, wallet, spend, 'expired', 'approval_expired', spend.violations, 'policy');
    if (wallet.frozenAt) throw new WalletError('wallet_frozen', 'the wallet is frozen; unfreeze it before approving');
    const stored = await currentPolicy(tx.client, wallet.id);
    if (!stored) return refuse(tx, wallet, spend, 'rejected', 'no_policy', [pseudoViolation('no_policy', 'the wallet has no policy')], actor);
    const verdict = evaluatePolicy(stored.policy, factsOf(spend, at), await walletUsage(tx.client, wallet.id, stored.policy, at), { waive: ['approve'] });
    if (verdict.outcome !== 'allow') {
      const code = verdict.outcome === 'approve' ? 'approval_required' : verdict.code;
      return refuse(tx, wallet, spend, 'rejected', code, verdict.violations, actor, stored.version);
    }
    const held = await holdAndAllow(tx, wallet, spend, at, storedEstimate(spend), stored.version, actor);
    if ('insufficient' in held) return refuse(tx, wallet, spend, 'rejected', 'insufficient_funds', [pseudoViolation('insufficient_funds', held.insufficient)], actor, stored.version);
    return held;
  });
  if (decided.status === 'expired') throw new WalletError('approval_expired', `the approval window of spend ${spendId} closed at ${decided.approvalDeadline?.toISOString()}`);
  return decided;
}

export async function rejectSpend(context: Pick<SpendContext, 'writer'>, spendId: string, actor: string, reason?: string): Promise<Spend> {
  return context.writer.transaction(async (tx) => {
    const { spend, wallet } = await awaitingApproval(tx, spendId);
    if (spend.status !== 'awaiting_approval') throw new WalletError('spend_not_awaiting_approval', `spend ${spendId} is ${spend.status}`);
    return refuse(tx, wallet, spend, 'rejected', 'approval_rejected', [...spend.violations, pseudoViolation('approval_rejected', reason ?? `rejected by ${actor}`)], actor);
  });
}

/** The approval timeout job: a spend still waiting at its deadline expires. */
export async function expireApproval(context: Pick<SpendContext, 'writer' | 'clock'>, spendId: string): Promise<Spend> {
  return context.writer.transaction(async (tx) => {
    const { spend, wallet } = await awaitingApproval(tx, spendId);
    if (spend.status !== 'awaiting_approval') return spend;
    const at = context.clock?.() ?? new Date();
    // A job delayed by BullMQ can run a little early on a skewed clock; it will be offered again.
    if (spend.approvalDeadline && at < spend.approvalDeadline) throw new WalletError('approval_not_due', `spend ${spendId} is not due to expire before ${spend.approvalDeadline.toISOString()}`);
    return refuse(tx, wallet, spend, 'expired', 'approval_expired', spend.violations, 'policy');
  });
}
