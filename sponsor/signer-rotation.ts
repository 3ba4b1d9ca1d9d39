// Rotating the verifying paymaster's signing key (issue #25) with no redeploy, no pause in
// sponsorship, and nothing already signed invalidated. Each rotation is a row of
// paymaster_signer_rotations and each step a key_rotations event:
//   1. rotated   — a new keystore key, named by generation (<PAYMASTER_SIGNER_KEY>-r<n>).
//   2. activated — setSigner(new, true) mined; from that commit on the sponsor service signs with
//                  the new key (it reads the active key at every signature, in every process).
//   3. retired   — once the overlap is over and the last operation the old key signed has
//                  expired (an operation waiting in a bundler's mempool stays valid until its
//                  validUntil), setSigner(old, false) is mined.
// Every step looks at the chain before it sends, so a rotation stopped anywhere completes when
// run again, and a setSigner sent twice does no harm. Rotations of one paymaster hold a session
// advisory lock: a second rotation waits for the first.
import { createWalletClient, custom, encodeFunctionData, getAddress, parseAbi, type Address, type Hex, type PublicClient } from 'viem';
import { evmAddressOfKey, evmOperationalKey, signEvmTransactionWithKey, type EvmOperationalKey } from '../chains/index.ts';
import { run, runFirst, runOne, sql, sqlBuilder, withAdvisoryLock, withTransaction, type Logger, type Pool, type Queryable } from '../infra/index.ts';
import { recordRotation, RotationError } from '../rotations/index.ts';
import { OperationalKey, type Keystore } from '../signer/index.ts';

export type SponsorSigner = Pick<EvmOperationalKey, 'address' | 'signMessage'>;

export const paymasterSignerAbi = parseAbi([
  'function isSigner(address signer) view returns (bool)',
  'function setSigner(address signer, bool accepted)',
  'function owner() view returns (address)',
]);

/** Who sends setSigner: the paymaster's owner, as a keystore key or as an account the node holds. */
export interface PaymasterOwner {
  address: Address;
  /** Broadcasts a call from the owner and returns its transaction hash. */
  send(call: { to: Address; data: Hex }): Promise<Hex>;
}

export interface SignerRotationContext {
  pool: Pool;
  logger: Logger;
  keystore: Keystore;
  client: PublicClient;
  paymaster: Address;
  /** The key the service signed with before any rotation (PAYMASTER_SIGNER_KEY). */
  initialKeyName: string;
  owner: () => Promise<PaymasterOwner>;
  receiptTimeoutMs?: number;
  /** The clock the overlap and the old key's last validUntil are judged by. */
  now?: () => Date;
}

export type RotationStatus = 'prepared' | 'activated' | 'retired';

export interface PaymasterSignerRotation {
  id: string;
  paymaster: Address;
  oldKeyName: string;
  oldAddress: Address;
  newKeyName: string;
  newAddress: Address;
  status: RotationStatus;
  overlapSeconds: number;
  actor: string;
  createdAt: Date;
  activatedAt: Date | null;
  retireAfter: Date | null;
  retiredAt: Date | null;
}

const lockKey = (paymaster: Address) => `paymaster-signer:${paymaster.toLowerCase()}`;
const receiptTimeoutMsDefault = 120_000;
const rotationsShownMax = 100;

const rotationColumns = [
  sql<string>`id::text`.as('id'), 'paymaster', 'old_key_name', 'old_address', 'new_key_name', 'new_address', 'status', 'overlap_seconds', 'actor', 'created_at', 'activated_at', 'retire_after', 'retired_at',
] as const;

type RotationRow = { id: string; paymaster: string; old_key_name: string; old_address: string; new_key_name: string; new_address: string; status: string; overlap_seconds: number; actor: string; created_at: Date; activated_at: Date | null; retire_after: Date | null; retired_at: Date | null };

const fromRow = (r: RotationRow): PaymasterSignerRotation => ({
  id: r.id,
  paymaster: getAddress(r.paymaster),
  oldKeyName: r.old_key_name,
  oldAddress: getAddress(r.old_address),
  newKeyName: r.new_key_name,
  newAddress: getAddress(r.new_address),
  status: r.status as RotationStatus,
  overlapSeconds: r.overlap_seconds,
  actor: r.actor,
  createdAt: r.created_at,
  activatedAt: r.activated_at,
  retireAfter: r.retire_after,
  retiredAt: r.retired_at,
});

// Ordered by the table's column, never by the `id` alias above: that one is text, and '9' > '10'.
const rotations = (paymaster: Address) => sqlBuilder.selectFrom('paymaster_signer_rotations').select(rotationColumns).where('paymaster', '=', getAddress(paymaster));

/** The JSON the CLI and the operator API show for a rotation. */
export const signerRotationView = (r: PaymasterSignerRotation) => ({
  id: r.id,
  paymaster: r.paymaster,
  status: r.status,
  oldKeyName: r.oldKeyName,
  oldAddress: r.oldAddress,
  newKeyName: r.newKeyName,
  newAddress: r.newAddress,
  overlapSeconds: r.overlapSeconds,
  activatedAt: r.activatedAt?.toISOString() ?? null,
  retireAfter: r.retireAfter?.toISOString() ?? null,
  retiredAt: r.retiredAt?.toISOString() ?? null,
});

/** The paymaster's rotations, newest first. */
export async function listPaymasterSignerRotations(db: Queryable, paymaster: Address): Promise<PaymasterSignerRotation[]> {
  return (await run(db, rotations(paymaster).orderBy('paymaster_signer_rotations.id', 'desc').limit(rotationsShownMax))).map(fromRow);
}

/** The keystore key the service signs with: the newest activated rotation's, else the initial one. */
export async function activeSignerKeyName(db: Queryable, paymaster: Address, initialKeyName: string): Promise<string> {
  const row = await runFirst(db, sqlBuilder.selectFrom('paymaster_signer_rotations').select('new_key_name').where('paymaster', '=', getAddress(paymaster)).where('status', '<>', 'prepared').orderBy('id', 'desc').limit(1));
  return row?.new_key_name ?? initialKeyName;
}

/**
 * The sponsor service's signer: the active key, looked up at each signature (one indexed read in
 * the decision's transaction) so that every API process follows a rotation at its commit. Keys
 * are opened once each (opening one is a deliberate argon2 stretch).
 */
export function activePaymasterSigner(options: { keystore: Keystore; paymaster: Address; initialKeyName: string }): (db: Queryable) => Promise<SponsorSigner> {
  const opened = new Map<string, Promise<SponsorSigner>>();
  return async (db) => {
    const name = await activeSignerKeyName(db, options.paymaster, options.initialKeyName);
    let signer = opened.get(name);
    if (!signer) {
      signer = options.keystore.load(name).then((stored) => evmOperationalKey(new OperationalKey(stored)));
      // A failed open (the key file not there yet) is tried again next time, not remembered.
      signer.catch(() => opened.delete(name));
      opened.set(name, signer);
    }
    return signer;
  };
}

/** An owner whose key is in the keystore: EIP-1559 transactions signed here, broadcast raw. */
export function keystoreOwner(key: Pick<EvmOperationalKey, 'address' | 'signDigest'>, client: PublicClient): PaymasterOwner {
  return {
    address: key.address,
    async send(call) {
      const [chainId, nonce, fees, gas] = await Promise.all([
        client.getChainId(),
        client.getTransactionCount({ address: key.address, blockTag: 'pending' }),
        client.estimateFeesPerGas(),
        client.estimateGas({ account: key.address, to: call.to, data: call.data }),
      ]);
      const signed = signEvmTransactionWithKey(key, { type: 'eip1559', chainId, nonce, to: call.to, data: call.data, gas: (gas * 12n) / 10n, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas });
      return client.sendRawTransaction({ serializedTransaction: signed.raw });
    },
  };
}

/** The node's own accounts, over the public client's transport (eth_accounts, eth_sendTransaction). */
const nodeWallet = (client: PublicClient) => createWalletClient({ transport: custom({ request: client.request }) });

/** An owner the EVM node holds unlocked (anvil's accounts, as `coffer contracts deploy` uses them). */
export function nodeAccountOwner(address: Address, client: PublicClient): PaymasterOwner {
  return {
    address,
    send: (call) => nodeWallet(client).sendTransaction({ account: address, to: call.to, data: call.data, chain: null }),
  };
}

/**
 * PAYMASTER_OWNER_KEY's key when set (it must be the paymaster's owner), else the owner itself
 * when the node holds it; anything else cannot change the signer set, and says so.
 */
export async function resolvePaymasterOwner(options: { client: PublicClient; keystore: Keystore; paymaster: Address; ownerKeyName?: string }): Promise<PaymasterOwner> {
  const owner = await options.client.readContract({ address: options.paymaster, abi: paymasterSignerAbi, functionName: 'owner' });
  if (options.ownerKeyName) {
    if (!(await options.keystore.has(options.ownerKeyName))) throw new RotationError('key_not_found', `PAYMASTER_OWNER_KEY names ${options.ownerKeyName}, which is not in the keystore`);
    const key = evmOperationalKey(new OperationalKey(await options.keystore.load(options.ownerKeyName)));
    if (key.address !== getAddress(owner)) throw new RotationError('rotation_refused', `PAYMASTER_OWNER_KEY's address ${key.address} is not the paymaster's owner ${owner}`);
    return keystoreOwner(key, options.client);
  }
  const held = (await nodeWallet(options.client).getAddresses()).map((a) => getAddress(a));
  if (!held.includes(getAddress(owner))) throw new RotationError('rotation_refused', `the paymaster's owner ${owner} is not an account the node holds; set PAYMASTER_OWNER_KEY to the owner's keystore key`);
  return nodeAccountOwner(getAddress(owner), options.client);
}

const isSigner = (ctx: SignerRotationContext, signer: Address) => ctx.client.readContract({ address: ctx.paymaster, abi: paymasterSignerAbi, functionName: 'isSigner', args: [signer] });

/** setSigner(signer, accepted) unless the chain already says so; resolves once it is mined. */
async function ensureSigner(ctx: SignerRotationContext, signer: Address, accepted: boolean): Promise<Hex | null> {
  if ((await isSigner(ctx, signer)) === accepted) return null;
  const owner = await ctx.owner();
  const hash = await owner.send({ to: ctx.paymaster, data: encodeFunctionData({ abi: paymasterSignerAbi, functionName: 'setSigner', args: [signer, accepted] }) });
  const receipt = await ctx.client.waitForTransactionReceipt({ hash, timeout: ctx.receiptTimeoutMs ?? receiptTimeoutMsDefault, pollingInterval: 250 });
  if (receipt.status !== 'success') throw new RotationError('rotation_refused', `setSigner(${signer}, ${accepted}) from ${owner.address} reverted in ${hash}: is it the paymaster's owner?`);
  return hash;
}

const nowOf = (ctx: SignerRotationContext) => ctx.now?.() ?? new Date();

/**
 * Rotates the signing key: resumes an unfinished rotation when there is one (it was stopped
 * between steps), otherwise starts a new one; either way it returns once the new key signs.
 * Retirements already due are done first. Waits while another rotation of this paymaster runs.
 */
export async function rotatePaymasterSigner(ctx: SignerRotationContext, options: { overlapSeconds: number; actor: string }): Promise<PaymasterSignerRotation> {
  return withAdvisoryLock(ctx.pool, lockKey(ctx.paymaster), async (client) => {
    await retireDue(ctx, client);
    const unfinished = await runFirst(client, rotations(ctx.paymaster).where('status', '=', 'prepared'));
    const prepared = unfinished ? fromRow(unfinished) : await prepare(ctx, client, options);
    return activate(ctx, prepared);
  });
}

/** The pass the workers run: finishes a stopped rotation, retires old keys that are due. Skips while a rotation holds the lock. */
export async function advancePaymasterSignerRotations(ctx: SignerRotationContext): Promise<{ activated: number; retired: number; busy: boolean }> {
  const client = await ctx.pool.connect();
  try {
    const locked = await runOne(client, sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(hashtext(${lockKey(ctx.paymaster)})) AS locked`);
    if (!locked.locked) return { activated: 0, retired: 0, busy: true };
    try {
      const unfinished = await runFirst(client, rotations(ctx.paymaster).where('status', '=', 'prepared'));
      if (unfinished) await activate(ctx, fromRow(unfinished));
      return { activated: unfinished ? 1 : 0, retired: await retireDue(ctx, client), busy: false };
    } finally {
      await run(client, sql`SELECT pg_advisory_unlock(hashtext(${lockKey(ctx.paymaster)}))`);
    }
  } finally {
    client.release();
  }
}

async function prepare(ctx: SignerRotationContext, db: Queryable, options: { overlapSeconds: number; actor: string }): Promise<PaymasterSignerRotation> {
  const oldKeyName = await activeSignerKeyName(db, ctx.paymaster, ctx.initialKeyName);
  if (!(await ctx.keystore.has(oldKeyName))) throw new RotationError('key_not_found', `the paymaster's signing key ${oldKeyName} is not in the keystore; nothing to rotate from`);
  const oldAddress = evmAddressOfKey((await ctx.keystore.load(oldKeyName)).publicKey);
  const generations = await runOne(db, sqlBuilder.selectFrom('paymaster_signer_rotations').select(sql<number>`count(*)::int`.as('n')));
  // Named by generation: a rotation stopped after creating its key (before its row) finds it again.
  const newKeyName = `${ctx.initialKeyName}-r${generations.n + 2}`;
  if (!(await ctx.keystore.has(newKeyName))) await ctx.keystore.create(newKeyName, 'secp256k1');
  const newAddress = evmAddressOfKey((await ctx.keystore.load(newKeyName)).publicKey);
  const row = await withTransaction(ctx.pool, async (client) => {
    const inserted = await runOne(
      client,
      sqlBuilder
        .insertInto('paymaster_signer_rotations')
        .values({ paymaster: getAddress(ctx.paymaster), old_key_name: oldKeyName, old_address: oldAddress, new_key_name: newKeyName, new_address: newAddress, status: 'prepared', overlap_seconds: options.overlapSeconds, actor: options.actor.slice(0, 200) })
        .returning(rotationColumns),
    );
    await recordRotation(client, { kind: 'paymaster_signer', subject: getAddress(ctx.paymaster), step: 'rotated', oldRef: oldAddress, newRef: newAddress, actor: options.actor, detail: { keyName: newKeyName, overlapSeconds: options.overlapSeconds } });
    return inserted;
  });
  ctx.logger.info('paymaster signer rotation: a new key', { paymaster: ctx.paymaster, newAddress, keyName: newKeyName });
  return fromRow(row);
}

async function activate(ctx: SignerRotationContext, rotation: PaymasterSignerRotation): Promise<PaymasterSignerRotation> {
  if (rotation.status !== 'prepared') return rotation;
  const hash = await ensureSigner(ctx, rotation.newAddress, true);
  const at = nowOf(ctx);
  const retireAfter = new Date(at.getTime() + rotation.overlapSeconds * 1000);
  const row = await withTransaction(ctx.pool, async (client) => {
    const updated = await runOne(
      client,
      sqlBuilder.updateTable('paymaster_signer_rotations').set({ status: 'activated', activated_at: at, retire_after: retireAfter }).where('id', '=', BigInt(rotation.id)).where('status', '=', 'prepared').returning(rotationColumns),
    );
    await recordRotation(client, { kind: 'paymaster_signer', subject: rotation.paymaster, step: 'activated', oldRef: rotation.oldAddress, newRef: rotation.newAddress, overlapUntil: retireAfter, actor: rotation.actor, detail: { keyName: rotation.newKeyName, setSignerTx: hash } });
    return updated;
  });
  ctx.logger.info('paymaster signer rotation: the new key signs from now on', { paymaster: ctx.paymaster, newAddress: rotation.newAddress, retireAfter: retireAfter.toISOString() });
  return fromRow(row);
}

/** The latest validUntil of an operation the key signed that the chain has not included (null: none). */
async function lastOpenSignature(db: Queryable, signer: Address): Promise<Date | null> {
  const row = await runOne(
    db,
    sqlBuilder.selectFrom('sponsor_decisions').select((eb) => eb.fn.max('valid_until').as('last')).where('outcome', '=', 'signed').where('signer_address', '=', signer).where('actual_gas_cost', 'is', null),
  );
  return row.last;
}

async function retireDue(ctx: SignerRotationContext, db: Queryable): Promise<number> {
  const now = nowOf(ctx);
  const due = (await run(db, rotations(ctx.paymaster).where('status', '=', 'activated').where('retire_after', '<=', now).orderBy('paymaster_signer_rotations.id'))).map(fromRow);
  let retired = 0;
  for (const rotation of due) {
    const last = await lastOpenSignature(db, rotation.oldAddress);
    if (last && last > now) continue;
    const hash = await ensureSigner(ctx, rotation.oldAddress, false);
    await withTransaction(ctx.pool, async (client) => {
      const count = await run(client, sqlBuilder.updateTable('paymaster_signer_rotations').set({ status: 'retired', retired_at: nowOf(ctx) }).where('id', '=', BigInt(rotation.id)).where('status', '=', 'activated').returning('new_key_name'));
      if (count.length === 0) return;
      await recordRotation(client, { kind: 'paymaster_signer', subject: rotation.paymaster, step: 'retired', oldRef: rotation.oldAddress, newRef: rotation.newAddress, actor: rotation.actor, detail: { keyName: rotation.oldKeyName, setSignerTx: hash, lastValidUntil: last?.toISOString() ?? null } });
    });
    ctx.logger.info('paymaster signer rotation: the old key is retired', { paymaster: ctx.paymaster, oldAddress: rotation.oldAddress });
    retired += 1;
  }
  return retired;
}
