// Signing for remote clients: find the client's key, judge the request by the key's policy under
// the key row's lock (so concurrent requests cannot pass a velocity or window limit together),
// sign, and record the audit event in the same transaction. A refusal is recorded too, with every
// violated rule, and signs nothing. A key without a policy signs nothing.
import { bytesToHex, hexToBytes, type Hex } from 'viem';
import { sealEvmTransaction, evmSigningDigest, signatureHex } from '../chains/index.ts';
import { run, runFirst, runOne, sql, sqlBuilder, withTransaction, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import type { JsonObject } from '../ledger/index.ts';
import type { SigningClient } from './clients.ts';
import { RemoteSignerError } from './errors.ts';
import { keyColumns, toSignerKey, type EcdsaSignature, type KeyMaterial, type SignerKey } from './keys.ts';
import { personalMessage, rawMessage, typedData, type SigningRequest } from './messages.ts';
import { judgeSigning, signerWindowQueries, type SignerPolicy, type SignerViolation } from './policy.ts';
import { describeTransaction, parseTransactionArgs } from './transaction.ts';

export interface RemoteSignerContext {
  pool: Pool;
  material: KeyMaterial;
  logger: Logger;
  /** The clock rules are judged by; tests move it instead of sleeping. */
  now?: () => Date;
}

export type SigningMethod = 'eth_signTransaction' | 'eth_sign' | 'eth_signTypedData_v4' | 'eth1_sign';

const hexAddress = /^0x[0-9a-fA-F]{40}$/;
const hexPublicKey = /^0x[0-9a-fA-F]{128}$/;

/** The keys this client may use, by name order. */
export async function clientKeys(ctx: Pick<RemoteSignerContext, 'pool'>, client: SigningClient): Promise<SignerKey[]> {
  const rows = await run(
    ctx.pool,
    sqlBuilder
      .selectFrom('remote_signer_keys as k')
      .innerJoin('remote_signer_client_keys as ck', 'ck.key_name', 'k.name')
      .select(keyColumns.map((column) => `k.${column}` as const))
      .where('ck.client_id', '=', client.id)
      .orderBy('k.name'),
  );
  return rows.map(toSignerKey);
}

/** The client's key with this address (JSON-RPC `from`) or Web3Signer public key (REST identifier). */
async function clientKey(ctx: RemoteSignerContext, client: SigningClient, identifier: unknown): Promise<SignerKey> {
  const text = typeof identifier === 'string' ? identifier : '';
  const byAddress = hexAddress.test(text);
  if (!byAddress && !hexPublicKey.test(text)) throw new RemoteSignerError('invalid_params', 'name the key by its 0x address (or, for eth1 sign, its 64-byte public key)');
  const key = (await clientKeys(ctx, client)).find((candidate) => (byAddress ? candidate.address : candidate.publicKey).toLowerCase() === text.toLowerCase());
  // Web3Signer's words for it: the client need not learn whether the key exists for someone else.
  if (!key) throw new RemoteSignerError('unknown_key', `no key of this client matches ${text}`);
  return key;
}

async function usageOf(db: PoolClient, key: string, policy: SignerPolicy, at: Date) {
  const queries = signerWindowQueries(policy, at);
  // Set-based: every window of the policy counted in one pass over the key's signatures.
  const rows = await run(
    db,
    sql<{ key: string; count: number; amount: string }>`SELECT q.key, count(e.id)::int AS count, coalesce(sum(e.value), 0)::text AS amount
       FROM unnest(${queries.map((q) => q.key)}::text[], ${queries.map((q) => q.since)}::timestamptz[]) AS q(key, since)
       LEFT JOIN remote_signer_events e ON e.key_name = ${key} AND e.kind = 'signed' AND e.at >= q.since AND e.at <= ${at}
      GROUP BY q.key`,
  );
  const last = await runOne(db, sqlBuilder.selectFrom('remote_signer_events').select((eb) => eb.fn.max<Date | null>('at').as('at')).where('key_name', '=', key).where('kind', '=', 'signed'));
  return {
    windows: new Map(rows.map((row) => [row.key, { count: row.count, amount: BigInt(row.amount) }])),
    lastSpendAt: last.at,
  };
}

const noPolicy = (key: string): SignerViolation => ({
  rule: 'policy',
  type: 'system',
  code: 'no_policy',
  message: `the key ${key} has no signing policy, so it signs nothing (set one with \`coffer signer policy set --key ${key} --file <json>\`)`,
  detail: {},
});

type Outcome = { signed: EcdsaSignature } | { refused: { deciding: SignerViolation; violations: SignerViolation[] } };

/** Judges, signs and records one request; throws `policy_refused` (after recording the refusal) when the policy says no. */
async function signUnderPolicy(ctx: RemoteSignerContext, client: SigningClient, key: SignerKey, method: SigningMethod, request: SigningRequest): Promise<EcdsaSignature> {
  const transaction = request.facts.kind === 'transaction' ? request.facts : null;
  const outcome = await withTransaction<Outcome>(ctx.pool, async (db) => {
    const row = await runFirst(db, sqlBuilder.selectFrom('remote_signer_keys').select(keyColumns).where('name', '=', key.name).forUpdate());
    if (!row) throw new RemoteSignerError('unknown_key', `the key ${key.name} is gone`);
    // The policy as of this moment, read under the lock: a policy change lands between requests, never in one.
    const current = toSignerKey(row);
    const at = ctx.now?.() ?? new Date();
    const violations = current.policy ? judgeSigning(current.policy, request.facts, await usageOf(db, key.name, current.policy, at), at) : [noPolicy(key.name)];
    const event = { key_name: key.name, actor: client.id, method, chain_id: transaction?.chainId ?? null, value: transaction?.value ?? null, at };
    const [deciding] = violations;
    if (deciding) {
      const detail = { request: request.decoded, digest: request.digest, policyVersion: current.policyVersion, violations } satisfies Record<string, unknown>;
      await run(db, sqlBuilder.insertInto('remote_signer_events').values({ ...event, kind: 'refused', code: deciding.code, detail: JSON.stringify(detail) }));
      return { refused: { deciding, violations } };
    }
    const signed = await ctx.material.signDigest(current, hexToBytes(request.digest));
    const detail: JsonObject = { request: request.decoded, signature: signatureHex(signed).sig, policyVersion: current.policyVersion };
    await run(db, sqlBuilder.insertInto('remote_signer_events').values({ ...event, kind: 'signed', digest: request.digest.toLowerCase(), detail: JSON.stringify(detail) }));
    return { signed };
  });
  if ('signed' in outcome) return outcome.signed;
  const { deciding, violations } = outcome.refused;
  ctx.logger.info('remote signer refused a request', { key: key.name, client: client.id, method, code: deciding.code });
  throw new RemoteSignerError('policy_refused', `refused by the policy of ${key.name}: ${violations.map((v) => v.message).join('; ')}`, { reason: deciding.code, violations });
}

/** eth_signTransaction: the bare 0x hex of the signed EIP-2718 transaction (0x02…, 0x03… without its sidecar, or legacy). */
export async function signTransaction(ctx: RemoteSignerContext, client: SigningClient, args: unknown): Promise<Hex> {
  const { from, transaction } = parseTransactionArgs(args);
  const key = await clientKey(ctx, client, from);
  const { facts, decoded } = describeTransaction(transaction);
  const digest = bytesToHex(evmSigningDigest(transaction));
  const signature = await signUnderPolicy(ctx, client, key, 'eth_signTransaction', { digest, facts, decoded: { from: key.address, ...decoded } });
  return sealEvmTransaction(transaction, signature).raw;
}

/** The 65-byte r ‖ s ‖ v (v = 27 + recovery id) of a message signature, as eth_sign and Web3Signer answer. */
async function signMessageLike(ctx: RemoteSignerContext, client: SigningClient, identifier: unknown, method: SigningMethod, request: () => SigningRequest): Promise<Hex> {
  const key = await clientKey(ctx, client, identifier);
  return signatureHex(await signUnderPolicy(ctx, client, key, method, request())).sig;
}

/** eth_sign [address, data]: an EIP-191 personal message (hex bytes, or text). */
export const signPersonalMessage = (ctx: RemoteSignerContext, client: SigningClient, address: unknown, data: unknown) =>
  signMessageLike(ctx, client, address, 'eth_sign', () => personalMessage(data));

/** eth_signTypedData_v4 [address, typedData]. */
export const signTypedData = (ctx: RemoteSignerContext, client: SigningClient, address: unknown, data: unknown) =>
  signMessageLike(ctx, client, address, 'eth_signTypedData_v4', () => typedData(data));

/** Web3Signer's POST /api/v1/eth1/sign/{identifier} {data}: keccak256(data) signed. */
export const signRaw = (ctx: RemoteSignerContext, client: SigningClient, identifier: unknown, data: unknown) =>
  signMessageLike(ctx, client, identifier, 'eth1_sign', () => rawMessage(data));
