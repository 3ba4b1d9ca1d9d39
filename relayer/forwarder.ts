// Gasless requests: a user signs an EIP-712 ForwardRequest for our ERC2771Forwarder, coffer
// checks it (signature, deadline, nonce, allowed target, gas, and the forwarder's own
// `verify`) and a relayer sends it through `execute`, paying the gas. A signer's requests go
// out strictly in nonce order (the forwarder consumes nonces sequentially); the monitor closes
// each one from the forwarder's ExecutedForwardRequest event when the relay is confirmed.
import { encodeFunctionData, getAddress, parseAbi, recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import type { Selectable } from 'kysely';
import { randomId, run, runFirst, runOne, sql, sqlBuilder, type Database, type Queryable } from '../infra/index.ts';
import { listRelayers, RelayError, type Relayer } from './relayers.ts';
import { broadcast, relayNow, sendTransaction, type RelayContext } from './transactions.ts';

export const forwarderAbi = parseAbi([
  'function nonces(address owner) view returns (uint256)',
  'function verify((address from, address to, uint256 value, uint256 gas, uint48 deadline, bytes data, bytes signature) request) view returns (bool)',
  'function execute((address from, address to, uint256 value, uint256 gas, uint48 deadline, bytes data, bytes signature) request) payable',
  'function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)',
]);

export const forwardRequestTypes = {
  ForwardRequest: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'gas', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint48' },
    { name: 'data', type: 'bytes' },
  ],
} as const;

export interface ForwarderContext extends RelayContext {
  forwarder: Address;
  allowedTargets: ReadonlySet<string>;
  gasMax: bigint;
  /** The relayer that pays; default the oldest. */
  relayerId?: string;
  /** A request must stay valid at least this long after it is checked (time to be mined). */
  deadlineMarginSeconds?: number;
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address');
const uint = z.union([z.string().regex(/^\d{1,78}$/, 'must be a whole number'), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]).transform((v) => BigInt(v));
export const forwardRequestSchema = z.object({
  request: z.object({
    from: address,
    to: address,
    value: uint.default(0n),
    gas: uint,
    nonce: uint,
    deadline: uint,
    data: z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes'),
  }),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte 0x signature'),
});

export interface ForwardRequest {
  id: string;
  forwarder: Address;
  from: Address;
  to: Address;
  value: bigint;
  gas: bigint;
  nonce: bigint;
  deadline: bigint;
  data: Hex;
  signature: Hex;
  status: 'queued' | 'relayed' | 'executed' | 'failed' | 'expired';
  statusReason: string | null;
  relayerId: string | null;
  relayTransactionId: string | null;
  createdAt: Date;
}

type Row = Selectable<Database['forward_requests']>;
/** The statuses that hold a signer's nonce (forward_requests_live_nonce). */
const liveStatuses = ['queued', 'relayed', 'executed'];

const fromRow = (r: Row): ForwardRequest => ({
  id: r.id,
  forwarder: getAddress(r.forwarder),
  from: getAddress(r.signer),
  to: getAddress(r.to_address),
  value: BigInt(r.value),
  gas: BigInt(r.gas),
  nonce: BigInt(r.nonce),
  deadline: r.deadline,
  data: r.data as Hex,
  signature: r.signature as Hex,
  status: r.status as ForwardRequest['status'],
  statusReason: r.status_reason,
  relayerId: r.relayer_id,
  relayTransactionId: r.relay_transaction_id,
  createdAt: r.created_at,
});

const domains = new Map<string, Promise<{ name: string; version: string; chainId: bigint; verifyingContract: Address }>>();
function domainOf(ctx: ForwarderContext) {
  let domain = domains.get(ctx.forwarder);
  if (!domain) {
    domain = ctx.client.readContract({ address: ctx.forwarder, abi: forwarderAbi, functionName: 'eip712Domain' }).then(([, name, version, chainId, verifyingContract]) => ({ name, version, chainId, verifyingContract }));
    domain.catch(() => domains.delete(ctx.forwarder));
    domains.set(ctx.forwarder, domain);
  }
  return domain;
}

const requestData = (r: ForwardRequest) => ({ from: r.from, to: r.to, value: r.value, gas: r.gas, deadline: Number(r.deadline), data: r.data, signature: r.signature });

/** Checks a signed request and queues it; relays it at once when it is the signer's next nonce. */
export async function submitForwardRequest(ctx: ForwarderContext, body: unknown, submittedBy: string): Promise<{ request: ForwardRequest; created: boolean }> {
  const parsed = forwardRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RelayError('invalid_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const { request, signature } = parsed.data;
  const margin = BigInt(ctx.deadlineMarginSeconds ?? 30);
  if (request.value !== 0n) throw new RelayError('value_not_sponsored', 'gasless requests carry no value (the relayer pays gas, not value)');
  if (!ctx.allowedTargets.has(request.to.toLowerCase())) throw new RelayError('target_not_allowed', `${request.to} is not a contract coffer relays to (FORWARDER_ALLOWED_TARGETS)`);
  if (request.gas > ctx.gasMax) throw new RelayError('gas_too_high', `gas ${request.gas} is above the ${ctx.gasMax} a forward request may use`);
  if (request.deadline < BigInt(Math.floor(relayNow(ctx) / 1000)) + margin) throw new RelayError('deadline_too_soon', `the deadline must be at least ${margin} s ahead`);
  const domain = await domainOf(ctx);
  const signer = await recoverTypedDataAddress({
    domain,
    types: forwardRequestTypes,
    primaryType: 'ForwardRequest',
    message: { ...request, from: getAddress(request.from), to: getAddress(request.to), deadline: Number(request.deadline), data: request.data as Hex },
    signature: signature as Hex,
  }).catch(() => null);
  if (!signer || signer.toLowerCase() !== request.from.toLowerCase()) throw new RelayError('invalid_signature', 'the signature does not recover to request.from for this forwarder (EIP-712 domain and ForwardRequest type)');
  const chainNonce = await ctx.client.readContract({ address: ctx.forwarder, abi: forwarderAbi, functionName: 'nonces', args: [getAddress(request.from)] });
  if (request.nonce < chainNonce) throw new RelayError('nonce_used', `nonce ${request.nonce} of ${request.from} is used already; the next is ${chainNonce}`);
  const id = randomId(20, 'fwd_');
  const inserted = await runFirst(
    ctx.pool,
    sqlBuilder
      .insertInto('forward_requests')
      .values({
        id,
        forwarder: ctx.forwarder,
        signer: getAddress(request.from),
        nonce: request.nonce,
        to_address: getAddress(request.to),
        value: '0',
        gas: request.gas,
        deadline: request.deadline,
        data: request.data,
        signature,
        status: 'queued',
        submitted_by: submittedBy,
      })
      .onConflict((conflict) => conflict.columns(['forwarder', 'signer', 'nonce']).where('status', 'in', liveStatuses).doNothing())
      .returningAll(),
  );
  if (!inserted) {
    const existing = await liveRequest(ctx.pool, ctx.forwarder, request.from, request.nonce);
    // The same signed request again is the same request; another one for a taken nonce is a conflict.
    if (existing && existing.signature.toLowerCase() === signature.toLowerCase()) return { request: existing, created: false };
    throw new RelayError('nonce_taken', `nonce ${request.nonce} of ${request.from} belongs to another request`);
  }
  await relayQueued(ctx, getAddress(request.from));
  return { request: (await getForwardRequest(ctx.pool, id))!, created: true };
}

async function liveRequest(db: Queryable, forwarder: string, signer: string, nonce: bigint): Promise<ForwardRequest | null> {
  const row = await runFirst(
    db,
    sqlBuilder
      .selectFrom('forward_requests')
      .selectAll()
      .where('forwarder', '=', forwarder)
      .where(sql<string>`lower(signer)`, '=', signer.toLowerCase())
      .where('nonce', '=', nonce.toString())
      .where('status', 'in', liveStatuses),
  );
  return row ? fromRow(row) : null;
}

export async function getForwardRequest(db: Queryable, id: string): Promise<ForwardRequest | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('forward_requests').selectAll().where('id', '=', id));
  return row ? fromRow(row) : null;
}

async function payingRelayer(ctx: ForwarderContext): Promise<Relayer> {
  const relayers = await listRelayers(ctx.pool);
  const relayer = ctx.relayerId ? relayers.find((r) => r.id === ctx.relayerId) : relayers.find((r) => !r.paused);
  if (!relayer) throw new RelayError('no_relayer', 'no relayer is set up to pay for gasless requests (coffer relayers create --chain ethereum)');
  return relayer;
}

/**
 * Relays a signer's queued requests that are next in nonce order, one after another, under a
 * per-signer lock. The first is checked with the forwarder's `verify` (the others cannot be
 * until their predecessor is mined; their signatures were checked on the way in).
 */
export async function relayQueued(ctx: ForwarderContext, signer: Address): Promise<number> {
  const lock = await ctx.pool.connect();
  let relayed = 0;
  try {
    await run(lock, sql`SELECT pg_advisory_lock(hashtext(${`forward:${ctx.forwarder.toLowerCase()}:${signer.toLowerCase()}`}))`);
    const chainNonce = await ctx.client.readContract({ address: ctx.forwarder, abi: forwarderAbi, functionName: 'nonces', args: [signer] });
    const { top } = await runOne(
      ctx.pool,
      sqlBuilder.selectFrom('forward_requests').select(sql<string | null>`max(nonce)::text`.as('top')).where('forwarder', '=', ctx.forwarder).where('signer', '=', signer).where('status', '=', 'relayed'),
    );
    let expected = top ? BigInt(top) + 1n : chainNonce;
    if (expected < chainNonce) expected = chainNonce;
    const rows = await run(ctx.pool, sqlBuilder.selectFrom('forward_requests').selectAll().where('forwarder', '=', ctx.forwarder).where('signer', '=', signer).where('status', '=', 'queued').orderBy('nonce'));
    for (const row of rows.map(fromRow)) {
      if (row.nonce < chainNonce) {
        await setStatus(ctx.pool, row.id, 'failed', 'its nonce was used by another request');
        continue;
      }
      if (row.nonce !== expected) break;
      if (row.deadline < BigInt(Math.floor(relayNow(ctx) / 1000)) + BigInt(ctx.deadlineMarginSeconds ?? 30)) {
        await setStatus(ctx.pool, row.id, 'expired', 'its deadline passed before it could be relayed');
        break;
      }
      if (row.nonce === chainNonce) {
        const valid = await ctx.client.readContract({ address: ctx.forwarder, abi: forwarderAbi, functionName: 'verify', args: [requestData(row)] });
        if (!valid) {
          await setStatus(ctx.pool, row.id, 'failed', "the forwarder's verify refused it (the target does not trust the forwarder, the deadline passed, or the signature is wrong)");
          break;
        }
      }
      const relayer = await payingRelayer(ctx);
      const data = encodeFunctionData({ abi: forwarderAbi, functionName: 'execute', args: [requestData(row)] });
      // The forwarded call gets `gas`; the relayer's limit covers it under the 63/64 rule plus
      // signature recovery, the nonce write, calldata and the call's own overhead.
      const gasLimit = (row.gas * 64n) / 63n + 60_000n + 16n * BigInt((data.length - 2) / 2);
      const { tx } = await sendTransaction(ctx, relayer, { to: ctx.forwarder, data, gasLimit: gasLimit.toString(), speed: 'fast' }, { origin: 'forwarder', idempotencyKey: `forward:${row.id}` });
      await run(
        ctx.pool,
        sqlBuilder.updateTable('forward_requests').set({ status: 'relayed', relayer_id: relayer.id, relay_transaction_id: tx.id, updated_at: sql<Date>`now()` }).where('id', '=', row.id).where('status', '=', 'queued'),
      );
      await broadcast(ctx, tx);
      relayed += 1;
      expected += 1n;
    }
  } finally {
    await run(lock, sql`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
    lock.release();
  }
  return relayed;
}

/** Every signer with queued requests gets its turn (the monitor calls this each pass). */
export async function relayAllQueued(ctx: ForwarderContext): Promise<number> {
  const rows = await run(ctx.pool, sqlBuilder.selectFrom('forward_requests').select('signer').distinct().where('forwarder', '=', ctx.forwarder).where('status', '=', 'queued'));
  let relayed = 0;
  for (const row of rows) relayed += await relayQueued(ctx, getAddress(row.signer));
  return relayed;
}

async function setStatus(db: Queryable, id: string, status: ForwardRequest['status'], reason: string): Promise<void> {
  await run(db, sqlBuilder.updateTable('forward_requests').set({ status, status_reason: reason, updated_at: sql<Date>`now()` }).where('id', '=', id));
}

export function forwardRequestView(request: ForwardRequest, relayHash: string | null): Record<string, unknown> {
  return {
    id: request.id,
    status: request.status,
    statusReason: request.statusReason,
    forwarder: request.forwarder,
    from: request.from,
    to: request.to,
    nonce: request.nonce.toString(),
    gas: request.gas.toString(),
    deadline: Number(request.deadline),
    relayerId: request.relayerId,
    relayTransactionId: request.relayTransactionId,
    txHash: relayHash,
    createdAt: request.createdAt.toISOString(),
  };
}
