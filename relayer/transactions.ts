// Relayed transactions: send, replace, cancel, read and list, as Defender's relay-signer API
// means them. A send is validated, priced, checked against the relayer's balance (ledger
// balance minus every pending transaction's worst-case cost), given the next nonce under the
// relayer's row lock (gapless, in order), signed, and stored — all in one PostgreSQL
// transaction — before anything is broadcast. The same request arriving again (the official
// client retries any 4xx three times) finds the first one instead of creating a second.
import { randomUUID } from 'node:crypto';
import { getAddress, parseTransaction, type Address, type Hex, type PublicClient, type TransactionSerializable } from 'viem';
import { z } from 'zod';
import type { Selectable } from 'kysely';
import { run, runFirst, runOne, sql, sqlBuilder, withTransaction, type Database, type Logger, type Pool, type PoolClient, type Queryable } from '../infra/index.ts';
import { accountBalance, canonicalJson, type Json, type LedgerWriter } from '../ledger/index.ts';
import { nodeAnswer, signEvmTransactionWithKey } from '../chains/index.ts';
import { capped, isValidBump, minBump, speeds, type FeeOracle, type Fees, type Speed } from './pricing.ts';
import { relayChain, relayerAccount, RelayError, sha256, type OperationalKeys, type Relayer } from './relayers.ts';

export interface RelayContext {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  keys: OperationalKeys;
  client: PublicClient;
  fees: FeeOracle;
  dedupeWindowSeconds: number;
  /** Blocks on top of a mined transaction before it is confirmed and booked. */
  confirmations: number;
  /** Overrides of the resubmission timeouts per speed (tests shorten them). */
  resubmitAfterMs?: Partial<Record<Speed, number>>;
  /** The clock deadlines (validUntil, resubmission, forward-request deadlines) are read from, in ms since the epoch; tests drive it instead of sleeping. */
  now?: () => number;
}

/** The relay's clock: the context's, or the system's. */
export const relayNow = (ctx: Pick<RelayContext, 'now'>): number => ctx.now?.() ?? Date.now();

export const openStatuses = ['pending', 'sent', 'submitted', 'inmempool', 'mined'] as const;
export type RelayStatus = (typeof openStatuses)[number] | 'confirmed' | 'failed' | 'expired';
/** 'rotation': the transfer that drains a rotated-out key into its successor (key-rotation.ts). */
export type Origin = 'defender' | 'relay' | 'forwarder' | 'rotation';

/** A stored transaction: the intent it was sent with, and what became of it. */
export interface RelayedTransaction extends Pick<Intent, 'to' | 'value' | 'data' | 'gasLimit' | 'txType' | 'speed' | 'fixedPricing'> {
  id: string;
  relayerId: string;
  /** The key (EOA) that signed it; nonces count per key, and a rotated relayer has had several. */
  from: Address;
  nonce: bigint;
  origin: Origin;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  validUntil: Date;
  isPrivate: boolean;
  status: RelayStatus;
  statusReason: string | null;
  noopReason: 'expired' | 'cancelled' | null;
  hash: Hex;
  rawTx: Hex;
  hashes: Hex[];
  attempts: number;
  createdAt: Date;
  pricedAt: Date;
  sentAt: Date | null;
  minedAt: Date | null;
  blockNumber: bigint | null;
  minedHash: Hex | null;
  confirmedAt: Date | null;
  fee: bigint | null;
}

type Row = Selectable<Database['relayer_transactions']>;

export const fromRow = (r: Row): RelayedTransaction => ({
  id: r.id,
  relayerId: r.relayer_id,
  from: getAddress(r.from_address),
  nonce: r.nonce,
  origin: r.origin as Origin,
  to: r.to_address ? getAddress(r.to_address) : null,
  value: BigInt(r.value),
  data: r.data as Hex,
  gasLimit: r.gas_limit,
  txType: r.tx_type as RelayedTransaction['txType'],
  speed: r.speed as Speed | null,
  fixedPricing: r.fixed_pricing,
  maxFeePerGas: BigInt(r.max_fee_per_gas),
  maxPriorityFeePerGas: BigInt(r.max_priority_fee_per_gas),
  validUntil: r.valid_until,
  isPrivate: r.is_private,
  status: r.status as RelayStatus,
  statusReason: r.status_reason,
  noopReason: r.noop_reason as RelayedTransaction['noopReason'],
  hash: r.hash as Hex,
  rawTx: r.raw_tx as Hex,
  hashes: r.hashes as Hex[],
  attempts: r.attempts,
  createdAt: r.created_at,
  pricedAt: r.priced_at,
  sentAt: r.sent_at,
  minedAt: r.mined_at,
  blockNumber: r.block_number,
  minedHash: r.mined_hash as Hex | null,
  confirmedAt: r.confirmed_at,
  fee: r.fee === null ? null : BigInt(r.fee),
});

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address');
const quantity = z
  .union([z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/, 'must be a whole number (decimal or 0x hex)'), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
  .transform((v) => BigInt(v));

/** Defender's send / replace payload (RelayerTransactionPayload). Unknown fields are ignored, as Defender does. */
export const payloadSchema = z.object({
  to: address.optional(),
  value: quantity.optional(),
  data: z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes').optional(),
  gasLimit: quantity.optional(),
  speed: z.enum(speeds).optional(),
  gasPrice: quantity.optional(),
  maxFeePerGas: quantity.optional(),
  maxPriorityFeePerGas: quantity.optional(),
  validUntil: z.string().max(40).optional(),
  isPrivate: z.boolean().optional(),
});
export type Payload = z.infer<typeof payloadSchema>;

const blockGasLimit = 30_000_000n;
export const defaultValidityMs = 8 * 3_600_000;

export interface Intent {
  to: Address | null;
  value: bigint;
  data: Hex;
  gasLimit: bigint;
  txType: 'eip1559' | 'legacy';
  speed: Speed | null;
  fixedPricing: boolean;
  fees: Fees;
  validUntil: Date;
  isPrivate: boolean;
}

export function parsePayload(body: unknown, nowMs = Date.now()): Payload {
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RelayError('invalid_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const p = parsed.data;
  if (!p.to && (!p.data || p.data === '0x')) throw new RelayError('invalid_request', 'Both txs `to` and `data` fields are missing. At least one of them has to be set.');
  const pricings = [p.speed !== undefined, p.gasPrice !== undefined, p.maxFeePerGas !== undefined || p.maxPriorityFeePerGas !== undefined].filter(Boolean).length;
  if (pricings > 1) throw new RelayError('invalid_request', 'send one of speed, gasPrice, or maxFeePerGas with maxPriorityFeePerGas — not a mix');
  if ((p.maxFeePerGas === undefined) !== (p.maxPriorityFeePerGas === undefined)) throw new RelayError('invalid_request', 'maxFeePerGas and maxPriorityFeePerGas go together');
  if (p.maxFeePerGas !== undefined && p.maxFeePerGas < p.maxPriorityFeePerGas!) throw new RelayError('invalid_request', 'maxFeePerGas must be at least maxPriorityFeePerGas');
  if (p.gasLimit !== undefined && (p.gasLimit < 21_000n || p.gasLimit > blockGasLimit)) throw new RelayError('invalid_request', `gasLimit must be between 21000 and ${blockGasLimit}`);
  if (p.validUntil !== undefined) {
    const until = new Date(p.validUntil);
    if (Number.isNaN(until.getTime())) throw new RelayError('invalid_request', 'validUntil must be an ISO 8601 UTC time');
    if (until.getTime() <= nowMs) throw new RelayError('invalid_request', 'validUntil is in the past');
  }
  return p;
}

/** Gas when the caller gives none: the node's estimate + 10 %, or OpenZeppelin Relayer's fallbacks. */
async function gasFor(ctx: RelayContext, from: Address, p: Payload): Promise<bigint> {
  try {
    const estimate = await ctx.client.estimateGas({ account: from, to: p.to as Address | undefined, value: p.value, data: p.data as Hex | undefined });
    return (estimate * 11n) / 10n;
  } catch {
    const selector = p.data?.slice(0, 10).toLowerCase();
    return !p.data || p.data === '0x' ? 21_000n : selector === '0xa9059cbb' ? 65_000n : selector === '0x23b872dd' ? 80_000n : 200_000n;
  }
}

async function intentOf(ctx: RelayContext, relayer: Relayer, p: Payload, defaults: { speed: Speed }): Promise<Intent> {
  let fees: Fees;
  let txType: Intent['txType'] = 'eip1559';
  let speed: Speed | null = null;
  if (p.gasPrice !== undefined) {
    txType = 'legacy';
    fees = { maxFeePerGas: p.gasPrice, maxPriorityFeePerGas: p.gasPrice };
  } else if (p.maxFeePerGas !== undefined) {
    fees = { maxFeePerGas: p.maxFeePerGas, maxPriorityFeePerGas: p.maxPriorityFeePerGas! };
  } else {
    speed = p.speed ?? defaults.speed;
    fees = await ctx.fees.forSpeed(speed);
  }
  // The relayer's cap overwrites any fee above it (Defender's gasPriceCap policy).
  fees = capped(fees, relayer.gasPriceCap);
  if (txType === 'legacy') fees = { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxFeePerGas };
  if (fees.maxFeePerGas === 0n) throw new RelayError('invalid_request', 'a fee of 0 is never mined');
  return {
    to: p.to ? getAddress(p.to) : null,
    value: p.value ?? 0n,
    data: (p.data ?? '0x') as Hex,
    gasLimit: p.gasLimit ?? (await gasFor(ctx, relayer.address, p)),
    txType,
    speed,
    fixedPricing: speed === null,
    fees,
    validUntil: p.validUntil ? new Date(p.validUntil) : new Date(relayNow(ctx) + defaultValidityMs),
    isPrivate: p.isPrivate ?? false,
  };
}

const worstCost = (i: { gasLimit: bigint; value: bigint; fees: Fees }) => i.gasLimit * i.fees.maxFeePerGas + i.value;

/**
 * What a key of the relayer can still commit: its ledger balance minus every open transaction's
 * worst case. The open ones are read first: a settlement that commits between the two reads then
 * counts twice (open and already booked), never not at all, so the answer errs low.
 */
async function spendable(client: Queryable, relayer: Relayer, from: Address, excludeId: string | null): Promise<bigint> {
  let open = sqlBuilder
    .selectFrom('relayer_transactions')
    .select(sql<string>`coalesce(sum(gas_limit::numeric * max_fee_per_gas + value), 0)::text`.as('pending'))
    .where('relayer_id', '=', relayer.id)
    .where('from_address', '=', from)
    .where('status', 'in', openStatuses);
  if (excludeId !== null) open = open.where('id', '<>', excludeId);
  const { pending } = await runOne(client, open);
  return (await accountBalance(client, relayerAccount(from), relayChain.nativeAsset.code)) - BigInt(pending);
}

function unsigned(relayer: Relayer, nonce: bigint, intent: Intent): TransactionSerializable {
  const common = { chainId: relayer.chainId, nonce: Number(nonce), to: intent.to ?? undefined, value: intent.value, data: intent.data, gas: intent.gasLimit };
  return intent.txType === 'legacy'
    ? { ...common, type: 'legacy', gasPrice: intent.fees.maxFeePerGas }
    : { ...common, type: 'eip1559', maxFeePerGas: intent.fees.maxFeePerGas, maxPriorityFeePerGas: intent.fees.maxPriorityFeePerGas };
}

/**
 * Locks the relayer's row: its nonce counter, and which key signs now. The key is read here,
 * under the lock, not from the `relayer` a request started with: a rotation may have switched it.
 */
export async function lockRelayer(client: PoolClient, relayer: Pick<Relayer, 'id'>): Promise<{ nextNonce: bigint; paused: boolean; address: Address; keyName: string }> {
  const row = await runFirst(client, sqlBuilder.selectFrom('relayers').select(['next_nonce', 'paused', 'address', 'key_name']).where('id', '=', relayer.id).forUpdate());
  if (!row) throw new Error(`relayer ${relayer.id} not found`);
  return { nextNonce: row.next_nonce, paused: row.paused, address: getAddress(row.address), keyName: row.key_name };
}

/** The keystore name of a key the relayer signs or signed with (its current one, or a rotated-out one still draining). */
async function keyNameOf(client: Queryable, relayerId: string, address: Address): Promise<string> {
  const row = await runFirst(
    client,
    sqlBuilder
      .selectFrom('relayers')
      .select('key_name')
      .where('id', '=', relayerId)
      .where('address', '=', address)
      .unionAll(sqlBuilder.selectFrom('relayer_keys').select('key_name').where('relayer_id', '=', relayerId).where('address', '=', address)),
  );
  if (!row) throw new Error(`relayer ${relayerId} has no key ${address}`);
  return row.key_name;
}

function checkPolicies(relayer: Relayer, intent: Intent, available: bigint): void {
  if (relayer.whitelistReceivers && intent.to && !relayer.whitelistReceivers.includes(intent.to)) {
    throw new RelayError('receiver_not_allowed', `this relayer only sends to its whitelisted receivers; ${intent.to} is not one`);
  }
  const cost = worstCost(intent);
  if (available - cost < relayer.minBalance) {
    throw new RelayError('insufficient_funds', `the relayer cannot pay this: it costs up to ${cost} wei (gasLimit × maxFee + value) and ${available} wei is left after pending transactions${relayer.minBalance > 0n ? ` and the ${relayer.minBalance} wei minimum` : ''}`);
  }
}

export interface SendOptions {
  origin: Origin;
  /** A caller-chosen key (Idempotency-Key header, a forward request's id): the same key is the same transaction, forever. */
  idempotencyKey?: string;
}

/**
 * Sends: returns the stored transaction (status `sent`: priced and signed) and whether it was
 * an earlier identical request's. Broadcasting follows (see `broadcast`); a crash between the
 * two is picked up by the monitor, which broadcasts every `sent` transaction.
 */
export async function sendTransaction(ctx: RelayContext, relayer: Relayer, body: unknown, options: SendOptions): Promise<{ tx: RelayedTransaction; replayed: boolean }> {
  const payload = parsePayload(body, relayNow(ctx));
  const requestHash = sha256(options.idempotencyKey ? `key:${options.idempotencyKey}` : `body:${canonicalJson(body as Json)}`);
  const earlier = await findRequest(ctx.pool, relayer, requestHash, options.idempotencyKey !== undefined, ctx.dedupeWindowSeconds);
  if (earlier) return { tx: earlier, replayed: true };
  const intent = await intentOf(ctx, relayer, payload, { speed: 'fast' });
  const result = await withTransaction(ctx.pool, async (client) => {
    const { nextNonce, paused, address: from, keyName } = await lockRelayer(client, relayer);
    // Under the lock: a concurrent copy of this request committed first.
    const again = await findRequest(client, relayer, requestHash, options.idempotencyKey !== undefined, ctx.dedupeWindowSeconds);
    if (again) return { tx: again, replayed: true };
    if (paused) throw new RelayError('relayer_paused', 'this relayer is paused');
    checkPolicies(relayer, intent, await spendable(client, relayer, from, null));
    // Opened once per process and cached: only a key's first use (after a rotation) waits for the keystore here.
    const key = await ctx.keys.get(keyName);
    const tx = await storeSigned(client, key, { relayer, from, nonce: nextNonce, requestHash, origin: options.origin, intent });
    await run(client, sqlBuilder.updateTable('relayers').set((eb) => ({ next_nonce: eb('next_nonce', '+', 1n) })).where('id', '=', relayer.id));
    return { tx, replayed: false };
  });
  return result;
}

/** Signs a transaction at the nonce the caller took under the relayer's lock, and stores it `sent` (the monitor broadcasts what the caller does not). */
export async function storeSigned(
  client: PoolClient,
  key: Parameters<typeof signEvmTransactionWithKey>[0],
  t: { relayer: Relayer; from: Address; nonce: bigint; requestHash: Buffer; origin: Origin; intent: Intent },
): Promise<RelayedTransaction> {
  const { intent } = t;
  const signed = signEvmTransactionWithKey(key, unsigned(t.relayer, t.nonce, intent));
  const row = await runOne(
    client,
    sqlBuilder
      .insertInto('relayer_transactions')
      .values({
        id: randomUUID(),
        relayer_id: t.relayer.id,
        from_address: t.from,
        nonce: t.nonce,
        request_hash: t.requestHash,
        origin: t.origin,
        to_address: intent.to,
        value: intent.value,
        data: intent.data,
        gas_limit: intent.gasLimit,
        tx_type: intent.txType,
        speed: intent.speed,
        fixed_pricing: intent.fixedPricing,
        max_fee_per_gas: intent.fees.maxFeePerGas,
        max_priority_fee_per_gas: intent.fees.maxPriorityFeePerGas,
        valid_until: intent.validUntil,
        is_private: intent.isPrivate,
        status: 'sent',
        hash: signed.hash,
        raw_tx: signed.raw,
        hashes: [signed.hash],
      })
      .returningAll(),
  );
  return fromRow(row);
}

async function findRequest(db: Queryable, relayer: Relayer, requestHash: Buffer, keyed: boolean, windowSeconds: number): Promise<RelayedTransaction | null> {
  let query = sqlBuilder.selectFrom('relayer_transactions').selectAll().where('relayer_id', '=', relayer.id).where('request_hash', '=', requestHash);
  // A keyed request matches forever; a body only within the dedupe window.
  if (!keyed) query = query.where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowSeconds})`);
  const row = await runFirst(db, query.orderBy('created_at').limit(1));
  return row ? fromRow(row) : null;
}

/** Hands the signed bytes to the node. Failures leave the transaction `sent` for the monitor to retry. */
export async function broadcast(ctx: Pick<RelayContext, 'pool' | 'client' | 'logger'>, tx: Pick<RelayedTransaction, 'id' | 'hash' | 'rawTx'>): Promise<boolean> {
  try {
    await ctx.client.sendRawTransaction({ serializedTransaction: tx.rawTx });
  } catch (error) {
    const message = nodeAnswer(error);
    // Already there, or its nonce is already taken by one of our earlier signatures: the monitor finds which.
    if (!/already known|known transaction|nonce too low|replacement transaction underpriced|already imported/i.test(message)) {
      ctx.logger.warn('relayed transaction not accepted by the node; will retry', { transactionId: tx.id, hash: tx.hash, error: message.slice(0, 300) });
      return false;
    }
  }
  await run(
    ctx.pool,
    sqlBuilder.updateTable('relayer_transactions').set({ status: 'submitted', sent_at: sql<Date>`now()` }).where('id', '=', tx.id).where('hash', '=', tx.hash).where('status', 'in', ['pending', 'sent']),
  );
  return true;
}

export async function getTransaction(db: Queryable, relayerId: string, id: string): Promise<RelayedTransaction | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const row = await runFirst(db, sqlBuilder.selectFrom('relayer_transactions').selectAll().where('relayer_id', '=', relayerId).where('id', '=', id));
  return row ? fromRow(row) : null;
}

/** By nonce: the current key's transaction with it, else (after a rotation) a rotated-out key's. */
export async function getTransactionByNonce(db: Queryable, relayerId: string, nonce: bigint): Promise<RelayedTransaction | null> {
  const row = await runFirst(
    db,
    sqlBuilder
      .selectFrom('relayer_transactions as t')
      .innerJoin('relayers as r', 'r.id', 't.relayer_id')
      .selectAll('t')
      .where('t.relayer_id', '=', relayerId)
      .where('t.nonce', '=', nonce)
      .orderBy(sql`t.from_address = r.address`, 'desc')
      .orderBy('t.created_at', 'desc')
      .limit(1),
  );
  return row ? fromRow(row) : null;
}

/** `PUT /txs/{x}` and `GET /txs/{x}?nonce=true`: a numeric path is a nonce, anything else an id. */
export async function findByIdOrNonce(db: Queryable, relayerId: string, idOrNonce: string): Promise<RelayedTransaction | null> {
  return /^\d{1,19}$/.test(idOrNonce) ? getTransactionByNonce(db, relayerId, BigInt(idOrNonce)) : getTransaction(db, relayerId, idOrNonce);
}

export interface Replacement {
  to: Address | null;
  value: bigint;
  data: Hex;
  gasLimit: bigint;
  speed: Speed | null;
  fixedPricing: boolean;
  fees: Fees;
  validUntil: Date;
  noopReason?: 'expired' | 'cancelled';
}

/**
 * Re-signs an open, unmined transaction with the same nonce (a caller's replacement, a fee
 * bump, a NOOP). The new fees must replace the old on a node (≥ 10 % higher); the relayer's
 * balance must cover the new worst case. The transaction id stays; its hash changes.
 */
export async function resign(ctx: RelayContext, relayer: Relayer, id: string, change: (current: RelayedTransaction) => Replacement): Promise<RelayedTransaction> {
  return withTransaction(ctx.pool, async (client) => {
    await lockRelayer(client, relayer);
    const locked = await runFirst(client, sqlBuilder.selectFrom('relayer_transactions').selectAll().where('id', '=', id).forUpdate());
    if (!locked) throw new Error(`relayer transaction ${id} not found`);
    const current = fromRow(locked);
    if (!['pending', 'sent', 'submitted', 'inmempool'].includes(current.status)) {
      throw new RelayError('transaction_final', `transaction ${current.id} is ${current.status}; only a transaction not yet mined can be replaced`);
    }
    const next = change(current);
    const previous = { maxFeePerGas: current.maxFeePerGas, maxPriorityFeePerGas: current.maxPriorityFeePerGas };
    if (!isValidBump(previous, next.fees)) {
      throw new RelayError('replacement_underpriced', `a replacement must pay at least 10 % more than ${current.maxFeePerGas} / ${current.maxPriorityFeePerGas} wei per gas (max / priority)`);
    }
    const intent: Intent = { ...next, txType: current.txType, isPrivate: current.isPrivate };
    checkPolicies(relayer, intent, await spendable(client, relayer, current.from, current.id));
    // The key that signed it first: a replacement keeps its sender and nonce, whichever key is current.
    const key = await ctx.keys.get(await keyNameOf(client, relayer.id, current.from));
    const signed = signEvmTransactionWithKey(key, unsigned(relayer, current.nonce, intent));
    const updated = await runOne(
      client,
      sqlBuilder
        .updateTable('relayer_transactions')
        .set((eb) => ({
          to_address: next.to,
          value: next.value,
          data: next.data,
          gas_limit: next.gasLimit,
          speed: next.speed,
          fixed_pricing: next.fixedPricing,
          max_fee_per_gas: next.fees.maxFeePerGas,
          max_priority_fee_per_gas: next.fees.maxPriorityFeePerGas,
          valid_until: next.validUntil,
          ...(next.noopReason ? { noop_reason: next.noopReason } : {}),
          hash: signed.hash,
          raw_tx: signed.raw,
          hashes: sql<string[]>`hashes || ${signed.hash}::text`,
          attempts: eb('attempts', '+', 1),
          status: 'sent',
          priced_at: sql<Date>`now()`,
        }))
        .where('id', '=', current.id)
        .returningAll(),
    );
    return fromRow(updated);
  });
}

/** A caller's replacement (`PUT /txs/{id|nonce}`): the payload of a send; a speed is priced now and raised to a valid bump. */
export async function replaceTransaction(ctx: RelayContext, relayer: Relayer, id: string, body: unknown): Promise<RelayedTransaction> {
  const payload = parsePayload(body, relayNow(ctx));
  const current = (await getTransaction(ctx.pool, relayer.id, id))!;
  if (payload.gasPrice !== undefined && current.txType !== 'legacy') throw new RelayError('invalid_request', 'an EIP-1559 transaction cannot be replaced by a legacy one (gasPrice)');
  if (payload.maxFeePerGas !== undefined && current.txType === 'legacy') throw new RelayError('invalid_request', 'a legacy transaction cannot be replaced by an EIP-1559 one');
  const intent = await intentOf(ctx, relayer, payload, { speed: current.speed ?? 'fast' });
  return resign(ctx, relayer, id, (now) => {
    let fees = intent.fees;
    // A speed is repriced to at least a valid bump (explicit fees are taken as given and checked).
    if (!intent.fixedPricing && !isValidBump(now, fees)) {
      fees = capped({ maxFeePerGas: minBump(now.maxFeePerGas), maxPriorityFeePerGas: minBump(now.maxPriorityFeePerGas) }, relayer.gasPriceCap);
    }
    return { to: intent.to, value: intent.value, data: intent.data, gasLimit: intent.gasLimit, speed: intent.speed, fixedPricing: intent.fixedPricing, fees, validUntil: intent.validUntil };
  });
}

/** The NOOP that takes a transaction's nonce: a 0-value self-transfer, 21 000 gas, fees bumped. */
export async function replaceWithNoop(ctx: RelayContext, relayer: Relayer, id: string, reason: 'expired' | 'cancelled'): Promise<RelayedTransaction> {
  const market = await ctx.fees.forSpeed(reason === 'cancelled' ? 'fastest' : 'fast');
  return resign(ctx, relayer, id, (now) => {
    const maxPriorityFeePerGas = minBump(now.maxPriorityFeePerGas) > market.maxPriorityFeePerGas ? minBump(now.maxPriorityFeePerGas) : market.maxPriorityFeePerGas;
    let maxFeePerGas = minBump(now.maxFeePerGas) > market.maxFeePerGas ? minBump(now.maxFeePerGas) : market.maxFeePerGas;
    if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
    if (maxFeePerGas > relayer.gasPriceCap) throw new RelayError('at_gas_price_cap', `the NOOP for ${id} would need ${maxFeePerGas} wei per gas, above the relayer's cap`);
    const fees = now.txType === 'legacy' ? { maxFeePerGas, maxPriorityFeePerGas: maxFeePerGas } : { maxFeePerGas, maxPriorityFeePerGas };
    return { to: now.from, value: 0n, data: '0x', gasLimit: 21_000n, speed: reason === 'cancelled' ? 'fastest' : now.speed, fixedPricing: now.fixedPricing, fees, validUntil: now.validUntil, noopReason: reason };
  });
}

/** Defender's RelayerTransaction JSON. */
export function defenderView(tx: RelayedTransaction, relayer: Relayer): Record<string, unknown> {
  const parsed = parseTransaction(tx.rawTx);
  const v = parsed.yParity !== undefined ? 27 + parsed.yParity : Number(parsed.v ?? 27n);
  const view: Record<string, unknown> = {
    transactionId: tx.id,
    hash: tx.minedHash ?? tx.hash,
    to: tx.to ?? undefined,
    from: tx.from,
    value: `0x${tx.value.toString(16)}`,
    data: tx.data,
    speed: tx.speed ?? undefined,
    gasLimit: Number(tx.gasLimit),
    nonce: Number(tx.nonce),
    status: tx.status,
    chainId: relayer.chainId,
    validUntil: tx.validUntil.toISOString(),
    createdAt: tx.createdAt.toISOString(),
    pricedAt: tx.pricedAt.toISOString(),
    sentAt: tx.sentAt?.toISOString(),
    minedAt: tx.minedAt?.toISOString(),
    isPrivate: tx.isPrivate,
    signature: { v: `0x${v.toString(16)}`, r: parsed.r, s: parsed.s },
  };
  if (tx.txType === 'legacy') view.gasPrice = Number(tx.maxFeePerGas);
  else Object.assign(view, { maxFeePerGas: Number(tx.maxFeePerGas), maxPriorityFeePerGas: Number(tx.maxPriorityFeePerGas) });
  if (tx.statusReason) view.statusReason = tx.statusReason;
  return view;
}

/** Seed 002's status words: everything before mined is "pending". */
export const relayStatus = (status: RelayStatus): string => (['pending', 'sent', 'submitted', 'inmempool'].includes(status) ? 'pending' : status);

export async function relayerStatus(db: Queryable, relayer: Relayer): Promise<Record<string, unknown>> {
  const row = await runOne(
    db,
    sqlBuilder
      .selectFrom('relayers as r')
      .select((eb) => [
        'r.next_nonce',
        'r.paused',
        eb
          .selectFrom('relayer_transactions as t')
          .select(sql<string>`count(*)::text`.as('n'))
          .whereRef('t.relayer_id', '=', 'r.id')
          .where('t.status', 'in', ['pending', 'sent', 'submitted', 'inmempool'])
          .as('pending'),
        eb
          .selectFrom('relayer_transactions as t')
          .select(sql<string>`coalesce(sum(gas_limit::numeric * max_fee_per_gas + value), 0)::text`.as('cost'))
          .whereRef('t.relayer_id', '=', 'r.id')
          .where('t.status', 'in', openStatuses)
          .as('cost'),
      ])
      .where('r.id', '=', relayer.id),
  );
  const last = await runFirst(
    db,
    sqlBuilder.selectFrom('relayer_transactions').selectAll().where('relayer_id', '=', relayer.id).where('status', '=', 'confirmed').orderBy('confirmed_at', 'desc').orderBy('nonce', 'desc').limit(1),
  );
  const lastTx = last ? fromRow(last) : null;
  return {
    relayerId: relayer.id,
    name: relayer.name,
    nonce: Number(row.next_nonce),
    address: relayer.address,
    numberOfPendingTransactions: Number(row.pending),
    paused: row.paused,
    pendingTxCost: row.cost,
    txsQuotaUsage: 0,
    rpcQuotaUsage: 0,
    ...(lastTx ? { lastConfirmedTransaction: { hash: lastTx.minedHash ?? lastTx.hash, status: lastTx.status, minedAt: lastTx.minedAt?.toISOString(), sentAt: lastTx.sentAt?.toISOString(), nonce: Number(lastTx.nonce) } } : {}),
  };
}

const networkSlugs: Record<number, string> = { 1: 'mainnet', 11155111: 'sepolia', 17000: 'holesky', 8453: 'base', 84532: 'base-sepolia', 10: 'optimism', 42161: 'arbitrum', 137: 'matic', 56: 'bsc' };

export async function relayerView(db: Queryable, relayer: Relayer): Promise<Record<string, unknown>> {
  const status = await relayerStatus(db, relayer);
  return {
    relayerId: relayer.id,
    name: relayer.name,
    address: relayer.address,
    network: networkSlugs[relayer.chainId] ?? `chain-${relayer.chainId}`,
    chainId: relayer.chainId,
    paused: status.paused,
    createdAt: relayer.createdAt.toISOString(),
    pendingTxCost: status.pendingTxCost,
    minBalance: relayer.minBalance.toString(),
    policies: { gasPriceCap: relayer.gasPriceCap.toString(), whitelistReceivers: relayer.whitelistReceivers ?? undefined, EIP1559Pricing: true, privateTransactions: false },
  };
}
