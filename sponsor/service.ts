// The ERC-7677 paymaster service: `pm_getPaymasterStubData` and `pm_getPaymasterData` as
// JSON-RPC, so a viem smart-account client takes coffer as its paymaster unchanged. Both
// check the policy (ERC-7677: reject at the stub already); only the second signs. Every answer
// is a recorded decision. A refusal is a JSON-RPC error -32001 whose data names the reason code,
// and carries no signature.
//
// One decision at a time per sender (or overall, when the policy has a global cap): the caps
// are read and the decision written under an advisory lock, so two requests cannot both take
// the last unit of a cap.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatHex, getAddress, keccak256, numberToHex, pad, toHex, type Address, type Hex } from 'viem';
import { signatureHex } from '../chains/index.ts';
import { run, sql, withTransaction, type Logger, type Pool, type Queryable } from '../infra/index.ts';
import { currentSponsorPolicy, readUsage, recordDecision, senderSignatures, throttledSince } from './decisions.ts';
import { SponsorError } from './errors.ts';
import { evaluateSponsorPolicy, usageQueries, type SponsorPolicy } from './policy.ts';
import type { SponsorSigner } from './signer-rotation.ts';
import { accountCalls, encodePaymasterData, maxCostWei, paymasterHash, parseUserOperation, type PaymasterGas, type UserOperation } from './user-operation.ts';

export interface SponsorContext {
  pool: Pool;
  logger: Logger;
  chainId: number;
  entryPoint: Address;
  paymaster: Address;
  /**
   * The operational key (keystore, through signer/) whose address the paymaster accepts: a fixed
   * one, or the paymaster's active key read in each decision's transaction (signer-rotation.ts).
   */
  signer: SponsorSigner | ((db: Queryable) => Promise<SponsorSigner>);
  /** validUntil = now + this: a signature not used soon is dead. */
  validitySeconds: number;
  /** What the paymaster's validation may use; fixed, so the stub and the final data agree. */
  paymasterVerificationGasLimit: bigint;
  /** Per sender: at most this many signatures a minute. */
  signaturesPerMinuteMax: number;
  /** Per sender: this many signatures expired unused in a day and the sender is throttled. */
  unincludedMax: number;
  /** Told once when a sender becomes throttled (the alerts module). */
  onThrottled?: (sender: Address, expiredUnincluded: number) => Promise<void>;
  now?: () => Date;
}

export const refusalErrorCode = -32001;
const throttleWindowMs = 86_400_000;

export type JsonRpcId = string | number | null;
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: { code: number; message: string; data?: unknown } };

export interface Caller {
  apiKeyId: string | null;
}

/**
 * A 65-byte stub signature: a real signature by a throwaway key (scalar 1, public knowledge),
 * so simulation recovers an address and reads the signer set as the real data does (the
 * ERC-7677 same-code-path rule) and then fails signature validation, as a stub should.
 */
const stubSignature: Hex = (() => {
  const signature = secp256k1.Signature.fromBytes(secp256k1.sign(Buffer.from(keccak256(toHex('coffer paymaster stub')).slice(2), 'hex'), Buffer.from(pad('0x01', { size: 32 }).slice(2), 'hex'), { prehash: false, lowS: true, format: 'recovered' }), 'recovered');
  return concatHex([numberToHex(signature.r, { size: 32 }), numberToHex(signature.s, { size: 32 }), toHex(27 + (signature.recovery ?? 0), { size: 1 })]);
})();

type Decided =
  | { outcome: 'refused'; code: string; message: string; detail?: unknown }
  | { outcome: 'stub' | 'signed'; result: Record<string, unknown> };

/** Answers one JSON-RPC request (batches are not part of ERC-7677). */
export async function handlePaymasterRpc(ctx: SponsorContext, request: unknown, caller: Caller): Promise<JsonRpcResponse> {
  const body = request as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
  const id: JsonRpcId = typeof body?.id === 'string' || typeof body?.id === 'number' ? body.id : null;
  const fail = (code: number, message: string, data?: unknown): JsonRpcResponse => ({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });
  if (typeof body !== 'object' || body === null || body.jsonrpc !== '2.0' || typeof body.method !== 'string') return fail(-32600, 'not a JSON-RPC 2.0 request');
  if (body.method !== 'pm_getPaymasterStubData' && body.method !== 'pm_getPaymasterData') return fail(-32601, `method ${body.method.slice(0, 60)} is not served here (pm_getPaymasterStubData, pm_getPaymasterData)`);
  try {
    const decided = await decide(ctx, body.method, body.params, caller);
    if (decided.outcome === 'refused') return fail(refusalErrorCode, decided.message, { reason: decided.code, ...(decided.detail ? { refusals: decided.detail } : {}) });
    return { jsonrpc: '2.0', id, result: decided.result };
  } catch (error) {
    if (error instanceof SponsorError) return fail(-32602, error.message, { reason: error.code });
    throw error;
  }
}

async function decide(ctx: SponsorContext, method: 'pm_getPaymasterStubData' | 'pm_getPaymasterData', params: unknown, caller: Caller): Promise<Decided> {
  if (!Array.isArray(params) || params.length < 3) throw new SponsorError('invalid_params', 'params are [userOp, entryPoint, chainId, context?]');
  const [rawOp, entryPoint, chainId] = params as [unknown, unknown, unknown];
  const op = parseUserOperation(rawOp);
  const at = ctx.now?.() ?? new Date();
  const gas: PaymasterGas = { verificationGasLimit: ctx.paymasterVerificationGasLimit, postOpGasLimit: 0n };
  const record = (client: Parameters<typeof recordDecision>[0], fields: { outcome: 'stub' | 'signed' | 'refused'; reason?: string; message?: string; policyVersion: number | null; validUntil?: Date; hash?: Hex; cost?: bigint; signer?: Address }) =>
    recordDecision(client, {
      method, outcome: fields.outcome, reason: fields.reason ?? null, message: fields.message ?? null, sender: op.sender, nonce: op.nonce, policyVersion: fields.policyVersion,
      apiKeyId: caller.apiKeyId, maxCostWei: fields.cost ?? 0n, validUntil: fields.validUntil ?? null, paymasterHash: fields.hash ?? null, signerAddress: fields.signer ?? null, decidedAt: at,
    });

  // Requests for another EntryPoint or chain are refused, and recorded like any refusal.
  const wrongPlace =
    typeof entryPoint !== 'string' || entryPoint.toLowerCase() !== ctx.entryPoint.toLowerCase()
      ? { code: 'unsupported_entry_point', message: `this service sponsors operations for EntryPoint ${ctx.entryPoint} (v0.8) only` }
      : typeof chainId !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(chainId) || Number(chainId) !== ctx.chainId
        ? { code: 'wrong_chain', message: `this service sponsors on chain ${numberToHex(ctx.chainId)} only` }
        : null;
  if (wrongPlace) {
    await record(ctx.pool, { outcome: 'refused', reason: wrongPlace.code, message: wrongPlace.message, policyVersion: null });
    return { outcome: 'refused', ...wrongPlace };
  }

  const stored = await currentSponsorPolicy(ctx.pool);
  if (!stored) {
    const refusal = { code: 'no_policy', message: 'no sponsorship policy is set (PUT /v1/paymaster/policy)' };
    await record(ctx.pool, { outcome: 'refused', reason: refusal.code, message: refusal.message, policyVersion: null });
    return { outcome: 'refused', ...refusal };
  }
  const cost = maxCostWei(op, gas);
  let throttledNow: number | null = null;
  const decided = await withTransaction(ctx.pool, async (client): Promise<Decided> => {
    await run(client, sql`SELECT pg_advisory_xact_lock(hashtext(${lockName(stored.policy, op)}))`);
    const refuse = async (code: string, message: string, detail?: unknown): Promise<Decided> => {
      await record(client, { outcome: 'refused', reason: code, message, policyVersion: stored.version, cost });
      return { outcome: 'refused', code, message, detail };
    };
    const signatures = await senderSignatures(client, op.sender.toLowerCase(), new Date(at.getTime() - throttleWindowMs), at);
    if (signatures.expiredUnincluded >= ctx.unincludedMax) {
      // Reported when it starts (no throttle refusal yet in the window), not on every refusal after.
      if (!(await throttledSince(client, op.sender.toLowerCase(), new Date(at.getTime() - throttleWindowMs)))) throttledNow = signatures.expiredUnincluded;
      return refuse('sender_throttled', `${signatures.expiredUnincluded} of this sender's sponsored operations in the last 24 h were never included; it is throttled`);
    }
    if (method === 'pm_getPaymasterData') {
      const { signed } = await senderSignatures(client, op.sender.toLowerCase(), new Date(at.getTime() - 60_000), at);
      if (signed >= ctx.signaturesPerMinuteMax) return refuse('rate_limited', `at most ${ctx.signaturesPerMinuteMax} signatures a minute per sender`);
    }
    const usage = await readUsage(client, usageQueries(stored.policy, at), op.sender.toLowerCase(), at);
    const verdict = evaluateSponsorPolicy(stored.policy, { op, calls: accountCalls(op.callData), maxCostWei: cost, at }, usage);
    if (verdict.outcome === 'refuse') return refuse(verdict.code, verdict.message, verdict.refusals);

    const fields = { paymaster: getAddress(ctx.paymaster), paymasterVerificationGasLimit: numberToHex(gas.verificationGasLimit), paymasterPostOpGasLimit: numberToHex(gas.postOpGasLimit) };
    if (method === 'pm_getPaymasterStubData') {
      await record(client, { outcome: 'stub', policyVersion: stored.version, cost });
      return { outcome: 'stub', result: { ...fields, paymasterData: encodePaymasterData(0, 0, stubSignature), sponsor: { name: 'coffer' }, isFinal: false } };
    }
    const validUntil = Math.floor(at.getTime() / 1000) + ctx.validitySeconds;
    const hash = paymasterHash(op, gas, { chainId: ctx.chainId, paymaster: ctx.paymaster, validUntil, validAfter: 0 });
    // The key in force at this decision: a rotation's switch commits before or after it, never during.
    const signer = typeof ctx.signer === 'function' ? await ctx.signer(client) : ctx.signer;
    const signature = signatureHex(signer.signMessage(hash)).sig;
    await record(client, { outcome: 'signed', policyVersion: stored.version, validUntil: new Date(validUntil * 1000), hash, cost, signer: signer.address });
    return { outcome: 'signed', result: { ...fields, paymasterData: encodePaymasterData(validUntil, 0, signature) } };
  });
  if (throttledNow !== null) await ctx.onThrottled?.(op.sender, throttledNow);
  return decided;
}

/** Global caps serialize every decision; otherwise one sender's decisions are serialized. */
function lockName(policy: SponsorPolicy, op: UserOperation): string {
  return policy.rules.some((rule) => rule.type === 'global') ? 'sponsor:global' : `sponsor:${op.sender.toLowerCase()}`;
}
