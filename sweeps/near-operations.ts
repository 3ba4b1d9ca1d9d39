// coffer's own NEAR spending, paid from its NEAR hot account (COFFER_NEAR_ACCOUNT, key in the
// keystore) and booked like every refill:
//   - signing refills: every predecessor coffer signs MPC `sign` calls as (a user's NEAR account,
//     coffer's own) is a refill target on chain `near`; below fund_below it gets fund_to − balance.
//     A `sign` prepays ~0.03 NEAR at 300 TGas and the MVP's sweep leaves only 0.01 NEAR, so
//     without this the reserve and signing would starve each other.
//   - the gas each `sign` call burns (nearKeystoreSignCall's onCost).
//   - `storage_deposit` of a user's NEAR account on each accepted NEP-141 token when its deposit
//     address is first handed out, so a token deposit cannot bounce.
//
// Ledger: what coffer put on an account is coffer's, never custody, so it has its own account:
//   refill.settled         treasury:near:hot → operations:near:signing:<account> (amount), → fees:near (gas)
//   signing.fee            operations:near:signing:<account> → fees:near (gas a sign call burnt, and its 1 yocto)
//   storage.deposited      treasury:near:hot → operations:near:storage:<account> (locked in the token), → fees:near
// The sweep moves only what custody holds, so refilled NEAR is never swept as a deposit, and the
// indexer skips transfers signed by the hot account, so it is never credited as one.
import { createHash } from 'node:crypto';
import { teraToGas } from 'near-api-js';
import { ChainError, finalOutcome, nearRpc, outcomeFeeYocto, outcomeSucceeded, viewAccessKey, viewAccount, callView, functionCallAction, nearTransaction, sealNearTransaction, transferAction, isMissing, type NearRpc, type SignCost } from '../chains/index.ts';
import { ConfigError, run, runFirst, runOne, sql, sqlBuilder, withTransaction, type Config, type Logger, type Pool, type Queryable } from '../infra/index.ts';
import { accountBalance, chart, relayEntryKinds, type LedgerWriter, type PostingInput, assertAppended } from '../ledger/index.ts';
import {
  closeRefill,
  ensureRefillTargetOn,
  highestOpenRefillNonce,
  lockOpenRefill,
  openRefillsOn,
  recordSignedRefill,
  refilledToday,
  refillInFlight,
  refillsInFlightAmountOn,
  refillTargetAccount,
  refillTargetsOn,
  type ChainRefillTarget,
  type OpenRefill,
} from '../relayer/index.ts';
import { depositAddressPredecessors } from '../users/index.ts';
import { nearKeyName, type Signature } from '../signer/index.ts';

export const nearChain = 'near';
const nearAsset = 'NEAR';
export const nearHotAccount = chart.treasuryHot(nearChain);
/** coffer's NEAR on an account it signs as: refills in, sign-call gas out. */
export const nearSigningAccount = (accountId: string) => chart.operations(nearChain, `signing:${accountId}`);
/** NEAR coffer locked in token contracts to register an account (NEP-145 storage). */
export const nearStorageAccount = (accountId: string) => chart.operations(nearChain, `storage:${accountId}`);

/** Refill a predecessor below 0.05 NEAR up to 0.1 NEAR (three `sign` prepayments), at most 1 NEAR a day. */
/** When a signing account is refilled, to what, and at most how much a day (NEAR_SIGNING_*_YOCTO). */
export interface NearSigningFunding {
  fundBelow: bigint;
  fundTo: bigint;
  dailyCap: bigint;
}

export function nearSigningFunding(config: Pick<Config, 'NEAR_SIGNING_FUND_BELOW_YOCTO' | 'NEAR_SIGNING_FUND_TO_YOCTO' | 'NEAR_SIGNING_DAILY_CAP_YOCTO'>): NearSigningFunding {
  const funding = { fundBelow: BigInt(config.NEAR_SIGNING_FUND_BELOW_YOCTO), fundTo: BigInt(config.NEAR_SIGNING_FUND_TO_YOCTO), dailyCap: BigInt(config.NEAR_SIGNING_DAILY_CAP_YOCTO) };
  if (funding.fundBelow >= funding.fundTo) throw new ConfigError('NEAR_SIGNING_FUND_BELOW_YOCTO must be below NEAR_SIGNING_FUND_TO_YOCTO');
  if (funding.dailyCap < funding.fundTo) throw new ConfigError('NEAR_SIGNING_DAILY_CAP_YOCTO must allow at least one refill to NEAR_SIGNING_FUND_TO_YOCTO');
  return funding;
}
const storageDepositGasTera = 30;
const pollIntervalMs = 250;

export interface NearOperationsContext {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  rpcUrl: string;
  /** COFFER_NEAR_ACCOUNT: pays refills and storage deposits with its keystore key. */
  hotAccount: string;
  publicKeyOf: (accountId: string) => Promise<string | null>;
  sign: (keyName: string, bytes: Uint8Array) => Promise<Signature>;
  /** Accepted NEP-141 contracts (NEAR_TOKENS). */
  tokens: readonly string[];
  /** When signing accounts are refilled (NEAR_SIGNING_*_YOCTO). */
  signingFunding: NearSigningFunding;
  /** How long a pass waits for a refill to be final before leaving it to the next pass. */
  confirmTimeoutMs?: number;
}

/** The token contracts of NEAR_TOKENS (`USDC=usdc.devnet,…`). */
export const nearTokenContracts = (text: string | undefined): string[] => (text ?? '').split(',').filter(Boolean).map((pair) => pair.slice(pair.indexOf('=') + 1));

/** A refill target's name: a-z0-9- only, so the account id is hashed (the address column keeps it). */
export const nearSigningTargetName = (accountId: string) => `near-signing-${createHash('sha256').update(accountId).digest('hex').slice(0, 24)}`;

/**
 * Makes `accountId` a signing refill target, with the configured thresholds (idempotent; a
 * changed configuration updates the target); called for every predecessor before it signs.
 */
export async function ensureNearSigningTarget(db: Queryable, accountId: string, funding: NearSigningFunding): Promise<void> {
  await ensureRefillTargetOn(db, nearChain, { name: nearSigningTargetName(accountId), address: accountId, account: nearSigningAccount(accountId), fundBelow: funding.fundBelow, fundTo: funding.fundTo, dailyCap: funding.dailyCap });
}

export interface NearRefillOutcome {
  targets: { accountId: string; balance: string; action: 'ok' | 'refilled' | 'in_flight' | 'daily_cap_reached' | 'treasury_short' | 'unreadable'; amount?: string }[];
  treasuryLedgerBalance: string;
}

/**
 * Everything the hot account signs runs under one session lock, from signing to final, so two
 * of its transactions never take the same nonce (a refill left unfinal by a pass is counted by
 * `signFromHot`).
 */
const hotLock = 'near-hot-account';

async function underHotLock<T>(ctx: NearOperationsContext, mode: 'try' | 'wait', work: () => Promise<T>): Promise<T | null> {
  const lock = await ctx.pool.connect();
  try {
    if (mode === 'wait') await run(lock, sql`SELECT pg_advisory_lock(hashtext(${hotLock}))`);
    else if (!(await runOne(lock, sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtext(${hotLock})) AS ok`)).ok) return null;
    try {
      return await work();
    } finally {
      await run(lock, sql`SELECT pg_advisory_unlock(hashtext(${hotLock}))`);
    }
  } finally {
    lock.release();
  }
}

/** One pass over the NEAR targets. Null when another worker holds the hot account (a pass, a storage registration). */
export function nearRefillPass(ctx: NearOperationsContext): Promise<NearRefillOutcome | null> {
  return underHotLock(ctx, 'try', () => pass(ctx));
}

async function pass(ctx: NearOperationsContext): Promise<NearRefillOutcome> {
  const rpc = nearRpc(ctx.rpcUrl);
  for (const refill of await openRefillsOn(ctx.pool, nearChain)) await follow(ctx, rpc, refill, 0);
  // Every predecessor of a derived deposit address whose key coffer holds signs MPC calls for its sweeps.
  for (const predecessor of await depositAddressPredecessors(ctx.pool, { exceptChain: nearChain })) if (await ctx.publicKeyOf(predecessor)) await ensureNearSigningTarget(ctx.pool, predecessor, ctx.signingFunding);
  const outcome: NearRefillOutcome = { targets: [], treasuryLedgerBalance: '0' };
  const today = await refilledToday(ctx.pool);
  for (const target of await refillTargetsOn(ctx.pool, nearChain)) {
    let balance: bigint;
    try {
      balance = BigInt((await viewAccount(rpc, target.address)).amount);
    } catch (error) {
      ctx.logger.warn('near refill: cannot read a target balance', { target: target.address, error: error instanceof Error ? error.message : String(error) });
      outcome.targets.push({ accountId: target.address, balance: '?', action: 'unreadable' });
      continue;
    }
    const line = { accountId: target.address, balance: balance.toString() };
    if (await refillInFlight(ctx.pool, target.name)) {
      outcome.targets.push({ ...line, action: 'in_flight' });
      continue;
    }
    if (balance >= target.fundBelow) {
      outcome.targets.push({ ...line, action: 'ok' });
      continue;
    }
    const room = target.dailyCap - (today.get(target.name) ?? 0n);
    const want = target.fundTo - balance;
    const amount = want < room ? want : room;
    if (amount <= 0n) {
      ctx.logger.warn('near refill: daily cap reached; the predecessor stays below its threshold', { target: target.address, balance: balance.toString() });
      outcome.targets.push({ ...line, action: 'daily_cap_reached' });
      continue;
    }
    const submitted = await submit(ctx, rpc, target, amount, balance);
    if (!submitted) {
      outcome.targets.push({ ...line, action: 'treasury_short', amount: amount.toString() });
      continue;
    }
    await follow(ctx, rpc, submitted, ctx.confirmTimeoutMs ?? 30_000);
    outcome.targets.push({ ...line, action: 'refilled', amount: amount.toString() });
  }
  outcome.treasuryLedgerBalance = (await accountBalance(ctx.pool, nearHotAccount, nearAsset)).toString();
  if (outcome.targets.some((t) => t.action === 'treasury_short')) ctx.logger.error('ALERT NEAR hot account low', { account: ctx.hotAccount, ledgerBalance: outcome.treasuryLedgerBalance });
  return outcome;
}

/** A transaction from the hot account, signed with its keystore key (not yet sent). */
async function signFromHot(ctx: NearOperationsContext, rpc: NearRpc, receiverId: string, actions: Parameters<typeof nearTransaction>[0]['actions']) {
  const publicKey = await ctx.publicKeyOf(ctx.hotAccount);
  if (!publicKey) throw new ChainError('no_near_key', `no key for coffer's NEAR account ${ctx.hotAccount} in the keystore; import it with \`coffer users import-near-key --account ${ctx.hotAccount}\``);
  const accessKey = await viewAccessKey(rpc, ctx.hotAccount, publicKey);
  const refill = await highestOpenRefillNonce(ctx.pool, ctx.hotAccount);
  // A registration stored by a process that died may still land: its nonce is taken too.
  const storage = await runOne(
    ctx.pool,
    sqlBuilder.selectFrom('near_storage_deposits').select((eb) => eb.fn.max('nonce').as('nonce')).where('from_address', '=', ctx.hotAccount).where('status', '=', 'submitted'),
  );
  const nonce = [refill ?? 0n, storage.nonce ?? 0n, BigInt(accessKey.nonce)].reduce((max, n) => (n > max ? n : max)) + 1n;
  const { borsh, hash } = nearTransaction({ signerId: ctx.hotAccount, publicKey, receiverId, nonce, blockHash: accessKey.block_hash, actions });
  const signature = await ctx.sign(nearKeyName(ctx.hotAccount), hash);
  if (signature.curve !== 'ed25519') throw new ChainError('wrong_curve', `the key of ${ctx.hotAccount} is not an ed25519 key`);
  return { nonce, ...sealNearTransaction(borsh, signature.signature) };
}

async function submit(ctx: NearOperationsContext, rpc: NearRpc, target: ChainRefillTarget, amount: bigint, balanceBefore: bigint): Promise<OpenRefill | null> {
  // The hot account's nonce is taken under the same lock as the ledger check, so two refills never share one.
  return withTransaction(ctx.pool, async (client) => {
    const available = (await accountBalance(client, nearHotAccount, nearAsset)) - (await refillsInFlightAmountOn(client, nearChain));
    if (available < amount) {
      ctx.logger.error('near refill: the hot account cannot pay this refill', { target: target.address, amount: amount.toString(), available: available.toString() });
      return null;
    }
    const signed = await signFromHot(ctx, rpc, target.address, [transferAction(amount)]);
    // Stored before it is sent: a crash after this re-broadcasts these bytes, never signs again.
    const refill = await recordSignedRefill(client, { target: target.name, amount, balanceBefore, from: ctx.hotAccount, nonce: signed.nonce, txHash: signed.id, rawTx: signed.raw });
    ctx.logger.info('near refill: sending', { target: target.address, amount: amount.toString(), hash: signed.id });
    return refill;
  });
}

/** Sends the stored bytes (again) and, once final, books the refill; not final after `waitMs`: the next pass looks again. */
async function follow(ctx: NearOperationsContext, rpc: NearRpc, row: OpenRefill, waitMs: number): Promise<void> {
  const known = await finalOutcome(rpc, row.txHash, ctx.hotAccount);
  if (!known) {
    try {
      await rpc.call('send_tx', { signed_tx_base64: row.rawTx, wait_until: 'NONE' });
    } catch (error) {
      // The same bytes sent twice read as a used nonce; only a transaction the chain never saw failed.
      if (!(await finalOutcome(rpc, row.txHash, ctx.hotAccount)) && !isMissing(error, 'TIMEOUT_ERROR')) {
        const message = error instanceof Error ? error.message.slice(0, 300) : 'refused';
        await closeRefill(ctx.pool, row.id, { status: 'failed', reason: message });
        ctx.logger.error('near refill: the node refused it', { refill: row.id, error: message });
        return;
      }
    }
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const outcome = await finalOutcome(rpc, row.txHash, ctx.hotAccount);
    if (outcome) {
      await settle(ctx, row, outcomeSucceeded(outcome), outcomeFeeYocto(outcome));
      return;
    }
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

async function settle(ctx: NearOperationsContext, row: OpenRefill, success: boolean, feeYocto: bigint): Promise<void> {
  const postings: PostingInput[] = [];
  if (success) postings.push({ source: nearHotAccount, destination: await refillTargetAccount(ctx.pool, row.target), asset: nearAsset, amount: row.amount });
  if (feeYocto > 0n) postings.push({ source: nearHotAccount, destination: chart.fees(nearChain), asset: nearAsset, amount: feeYocto });
  await ctx.writer.transaction(async (t) => {
    if (!(await lockOpenRefill(t.client, row.id))) return;
    const key = `refill:${row.id}:settled`;
    const [result] = await t.append([{ kind: relayEntryKinds.refillSettled, idempotencyKey: key, sourceRef: row.txHash, metadata: { refillId: row.id, target: row.target, hash: row.txHash, success, fee: feeYocto.toString() }, postings }]);
    assertAppended(result, key);
    await closeRefill(t.client, row.id, { status: success ? 'confirmed' : 'failed', reason: success ? null : 'failed on chain', fee: feeYocto, entryId: result.entry.id });
  });
  ctx.logger.info('near refill: settled', { refill: row.id, success, amount: row.amount.toString(), fee: feeYocto.toString() });
}

/**
 * Books the gas a `sign` call burnt: out of coffer's signing money on that account. What the
 * signing account does not hold (a call before its first refill) was paid by the account's own
 * balance, outside coffer's books, and is logged.
 */
export async function bookNearSignCost(options: { pool: Pool; writer: LedgerWriter; logger: Logger }, cost: SignCost): Promise<void> {
  const account = nearSigningAccount(cost.predecessor);
  const held = await accountBalance(options.pool, account, nearAsset);
  // The 1 yoctoNEAR attached to `sign` stays with the contract: a cost of signing like the gas.
  const spent = cost.feeYocto + cost.depositYocto;
  const booked = spent < held ? spent : held;
  if (booked < spent) options.logger.warn('near sign call: paid by the account beyond coffer\'s signing funds', { predecessor: cost.predecessor, txHash: cost.txHash, unbookedYocto: (spent - booked).toString() });
  if (booked === 0n) return;
  const key = `near:${cost.txHash}:signing.fee`;
  const result = await options.writer.append({
    kind: 'signing.fee',
    idempotencyKey: key,
    sourceRef: cost.txHash,
    metadata: { predecessor: cost.predecessor, txHash: cost.txHash, fee: cost.feeYocto.toString(), deposit: cost.depositYocto.toString(), booked: booked.toString() },
    postings: [{ source: account, destination: chart.fees(nearChain), asset: nearAsset, amount: booked }],
  });
  assertAppended(result, key);
}

/**
 * What `nearKeystoreSignCall` calls after each `sign`: the predecessor becomes a refill target and
 * the gas is booked. A booking that fails is logged, not thrown: the signature is already paid
 * for, and losing it would only make the sweep sign (and pay) again.
 */
export function nearSignCostBooks(options: { pool: Pool; writer: LedgerWriter; logger: Logger; signingFunding: NearSigningFunding }): (cost: SignCost) => Promise<void> {
  return async (cost) => {
    try {
      await ensureNearSigningTarget(options.pool, cost.predecessor, options.signingFunding);
      await bookNearSignCost(options, cost);
    } catch (error) {
      options.logger.error('near sign call: its gas could not be booked', { predecessor: cost.predecessor, txHash: cost.txHash, feeYocto: cost.feeYocto.toString(), error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/**
 * Registers a user's NEAR account on every accepted token (NEP-145 `storage_deposit`, paid by
 * the hot account) and books each registration. Already registered: nothing is sent.
 *
 * Crash-safe as sweeps are: the signed transaction is stored before it is sent, and a later
 * attempt finishes a stored one (awaits its final outcome and books it, once) before it reads
 * the account's registration. Reading first would find the account registered by the
 * transaction a dead process sent, and what the hot account paid would never be booked.
 */
export async function registerNearTokenStorage(ctx: NearOperationsContext, accountId: string): Promise<{ contract: string; action: 'registered' | 'already_registered' }[]> {
  const rpc = nearRpc(ctx.rpcUrl);
  const waitMs = ctx.confirmTimeoutMs ?? 60_000;
  const done: { contract: string; action: 'registered' | 'already_registered' }[] = [];
  for (const contract of ctx.tokens) {
    // Checked under the lock: two deliveries of the job never both pay (a second deposit would be refunded, not booked).
    const action = await underHotLock(ctx, 'wait', async () => {
      const unfinished = await runFirst(
        ctx.pool,
        sqlBuilder.selectFrom('near_storage_deposits').select(storageColumns).where('account_id', '=', accountId).where('contract', '=', contract).where('status', '=', 'submitted'),
      );
      if (unfinished && (await finishStorageDeposit(ctx, rpc, unfinished, waitMs)) === 'confirmed') return 'registered' as const;
      if ((await callView<unknown>(rpc, contract, 'storage_balance_of', { account_id: accountId })) !== null) return 'already_registered' as const;
      const depositYocto = BigInt((await callView<{ min: string }>(rpc, contract, 'storage_balance_bounds', {})).min);
      const signed = await signFromHot(ctx, rpc, contract, [functionCallAction('storage_deposit', { account_id: accountId, registration_only: true }, teraToGas(storageDepositGasTera), depositYocto)]);
      // Stored before it is sent: a crash after this finishes these bytes, never signs again.
      const stored = await runOne(
        ctx.pool,
        sqlBuilder
          .insertInto('near_storage_deposits')
          .values({ account_id: accountId, contract, deposit: depositYocto, status: 'submitted', from_address: ctx.hotAccount, nonce: signed.nonce, tx_hash: signed.id, raw_tx: signed.raw })
          .returning(storageColumns),
      );
      if ((await finishStorageDeposit(ctx, rpc, stored, waitMs)) !== 'confirmed') throw new Error(`storage_deposit of ${accountId} on ${contract} failed (${signed.id})`);
      ctx.logger.info('near token storage registered', { accountId, contract, txHash: signed.id });
      return 'registered' as const;
    });
    done.push({ contract, action: action! });
  }
  return done;
}

const storageColumns = ['id', 'account_id', 'contract', 'deposit', 'tx_hash', 'raw_tx'] as const;
type StorageRow = { id: bigint; account_id: string; contract: string; deposit: string; tx_hash: string; raw_tx: string };

/**
 * Sends a stored registration (again: the same bytes are the same transaction) and books its
 * final outcome. A transaction the node refuses and does not know never moves anything: it is
 * closed unbooked. Not final within `waitMs`: throws, and the row waits for the next attempt.
 */
async function finishStorageDeposit(ctx: NearOperationsContext, rpc: NearRpc, row: StorageRow, waitMs: number): Promise<'confirmed' | 'failed'> {
  let outcome = await finalOutcome(rpc, row.tx_hash, ctx.hotAccount);
  if (!outcome) {
    try {
      await rpc.call('send_tx', { signed_tx_base64: row.raw_tx, wait_until: 'NONE' });
    } catch (error) {
      // Sent before (its nonce reads as used) or not: only the chain knowing the hash tells.
      if (!isMissing(error, 'TIMEOUT_ERROR') && !(await nearTransactionKnown(rpc, row.tx_hash, ctx.hotAccount))) {
        const reason = error instanceof Error ? error.message.slice(0, 300) : 'refused';
        await run(ctx.pool, sqlBuilder.updateTable('near_storage_deposits').set({ status: 'failed', status_reason: reason, settled_at: new Date() }).where('id', '=', row.id).where('status', '=', 'submitted'));
        ctx.logger.error('near token storage: the node refused the registration; nothing moved', { accountId: row.account_id, contract: row.contract, txHash: row.tx_hash, error: reason });
        return 'failed';
      }
    }
    outcome = await awaitFinal(rpc, row.tx_hash, ctx.hotAccount, waitMs);
  }
  const success = outcomeSucceeded(outcome);
  const feeYocto = outcomeFeeYocto(outcome);
  const postings: PostingInput[] = [];
  if (success) postings.push({ source: nearHotAccount, destination: nearStorageAccount(row.account_id), asset: nearAsset, amount: BigInt(row.deposit) });
  if (feeYocto > 0n) postings.push({ source: nearHotAccount, destination: chart.fees(nearChain), asset: nearAsset, amount: feeYocto });
  const key = `near:${row.tx_hash}:storage.deposited`;
  await ctx.writer.transaction(async (t) => {
    const current = await runFirst(t.client, sqlBuilder.selectFrom('near_storage_deposits').select('status').where('id', '=', row.id).forUpdate());
    if (current?.status !== 'submitted') return;
    const [result] = await t.append([
      { kind: 'storage.deposited', idempotencyKey: key, sourceRef: row.tx_hash, metadata: { accountId: row.account_id, contract: row.contract, txHash: row.tx_hash, success, fee: feeYocto.toString() }, postings },
    ]);
    assertAppended(result, key);
    await run(
      t.client,
      sqlBuilder
        .updateTable('near_storage_deposits')
        .set({ status: success ? 'confirmed' : 'failed', status_reason: success ? null : 'failed on chain', fee: feeYocto, entry_id: result.entry.id, settled_at: new Date() })
        .where('id', '=', row.id),
    );
  });
  return success ? 'confirmed' : 'failed';
}

/** Whether the node has seen the transaction at all (included, or waiting to be). */
async function nearTransactionKnown(rpc: NearRpc, hash: string, sender: string): Promise<boolean> {
  try {
    await rpc.call('tx', { tx_hash: hash, sender_account_id: sender, wait_until: 'NONE' });
    return true;
  } catch (error) {
    if (isMissing(error, 'UNKNOWN_TRANSACTION')) return false;
    if (isMissing(error, 'TIMEOUT_ERROR')) return true;
    throw error;
  }
}

async function awaitFinal(rpc: NearRpc, hash: string, sender: string, waitMs: number) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const outcome = await finalOutcome(rpc, hash, sender);
    if (outcome) return outcome;
    if (Date.now() >= deadline) throw new Error(`the NEAR transaction ${hash} of ${sender} was not final after ${waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}
