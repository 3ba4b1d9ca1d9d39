// /v1/users: operators create users; a user's deposit addresses are derived on first request.
// A `user` key sees only its own user.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { formatUnits } from '../../ledger/index.ts';
import { accessKeyKind } from '../../chains/index.ts';
import { importNearKey } from '../../signer/index.ts';
import { createUser, getDepositAddress, getUser, setSweepEnabled, type DepositAddress, type User } from '../../users/index.ts';
import { getDepositHistory, getUserBalances, getUserChoco, listUserDeposits, type UserDeposit } from '../../deposit-views/index.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { ApiError, readJsonBody } from '../problem.ts';
import { pathParam } from '../params.ts';
import { parseWith } from './ledger.ts';
import type * as responses from '../responses.ts';

export const depositsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().regex(/^[0-9]{1,19}$/, 'must be the next cursor of a previous page').optional(),
});

export const createUserBody = z.strictObject({
  nearAccountId: z.string().min(2).max(64),
  isSweepEnabled: z.boolean().optional(),
});

export const updateUserBody = z.strictObject({ isSweepEnabled: z.boolean() });
/** The key as NEAR wallets write it; only its length is checked here, so no message can quote it. */
export const nearKeyBody = z.strictObject({ privateKey: z.string().min(40).max(200).describe('ed25519:<base58 secret key>') });

const userJson = (user: User): z.input<typeof responses.user> => ({ id: user.id, nearAccountId: user.nearAccountId, isSweepEnabled: user.isSweepEnabled, createdAt: user.createdAt.toISOString() });
const addressJson = (a: DepositAddress): z.input<typeof responses.depositAddress> => ({
  userId: a.userId,
  chain: a.chain,
  network: a.network,
  address: a.address,
  uri: a.uri,
  path: a.path,
  predecessor: a.predecessor,
  publicKey: a.publicKey,
  createdAt: a.createdAt.toISOString(),
});

const depositJson = (d: UserDeposit): z.input<typeof responses.deposit> => ({
  id: d.entryId.toString(),
  chain: d.chain,
  address: d.address,
  tx: d.txHash,
  logIndex: d.logIndex,
  asset: d.asset,
  amount: d.amount.toString(),
  formatted: formatUnits(d.amount, d.scale),
  blockHeight: d.blockHeight,
  blockHash: d.blockHash,
  confirmations: d.confirmations,
  finalityDepth: d.finalityDepth,
  status: d.status,
  effectiveAt: d.effectiveAt.toISOString(),
});

async function assertUserExists(deps: ApiDependencies, id: string): Promise<void> {
  if (!(await getUser(deps.pool, id))) throw new ApiError(404, 'user_not_found', `no user ${id}`);
}

/** Operators see every user; a user key only its own, and anyone else is told it does not exist. */
function assertMayRead(c: Context<AppEnv>, userId: string): void {
  const identity = c.get('identity');
  if (identity.role === 'operator' || identity.role === 'auditor') return;
  if (identity.role === 'user' && identity.userId === userId) return;
  throw new ApiError(identity.role === 'user' ? 404 : 403, identity.role === 'user' ? 'user_not_found' : 'forbidden', identity.role === 'user' ? `no user ${userId}` : 'this needs an operator key or the user\'s own key');
}

export function userRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', requireRole('operator'), async (c) => {
    const body = parseWith(createUserBody, await readJsonBody(c.req));
    const user = await createUser(deps.pool, { nearAccountId: body.nearAccountId, ...(body.isSweepEnabled !== undefined ? { isSweepEnabled: body.isSweepEnabled } : {}) });
    return c.json(userJson(user), 201);
  });

  app.get('/:id', requireRole('operator', 'user'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    assertMayRead(c, id);
    const user = await getUser(deps.pool, id);
    if (!user) throw new ApiError(404, 'user_not_found', `no user ${id}`);
    return c.json(userJson(user));
  });

  app.patch('/:id', requireRole('operator'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    const body = parseWith(updateUserBody, await readJsonBody(c.req));
    const user = await setSweepEnabled(deps.pool, id, body.isSweepEnabled);
    if (!user) throw new ApiError(404, 'user_not_found', `no user ${id}`);
    return c.json(userJson(user));
  });

  app.put('/:id/near-key', requireRole('operator'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    const body = parseWith(nearKeyBody, await readJsonBody(c.req));
    if (!deps.near) throw new ApiError(503, 'near_unavailable', 'NEAR key imports need NEAR_RPC_URL and the keystore (COFFER_KEYSTORE_PASSPHRASE)');
    const user = await getUser(deps.pool, id);
    if (!user) throw new ApiError(404, 'user_not_found', `no user ${id}`);
    const { rpcUrl, keystore } = deps.near;
    const imported = await importNearKey({ keystore, accountId: user.nearAccountId, privateKey: body.privateKey, accessKeyKind: (account, publicKey) => accessKeyKind(rpcUrl, account, publicKey) });
    return c.json({ userId: id, ...imported } satisfies z.input<typeof responses.nearKey>);
  });

  app.get('/:id/deposit-addresses/:chain', requireRole('operator', 'user'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    assertMayRead(c, id);
    if (!deps.derivation) throw new ApiError(503, 'signer_unavailable', 'deposit addresses need the signer\'s root keys, which this server was started without');
    return c.json(addressJson(await getDepositAddress(deps.pool, id, c.req.param('chain'), deps.derivation)));
  });

  app.get('/:id/deposits', requireRole('operator', 'user', 'auditor'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    assertMayRead(c, id);
    const query = parseWith(depositsQuery, c.req.query());
    await assertUserExists(deps, id);
    const rows = await listUserDeposits(deps.pool, id, { limit: query.limit, ...(query.cursor ? { before: BigInt(query.cursor) } : {}) });
    const last = rows.at(-1);
    return c.json({ data: rows.map(depositJson), nextCursor: rows.length === query.limit && last ? last.entryId.toString() : null } satisfies z.input<typeof responses.depositsPage>);
  });

  app.get('/:id/deposits/:entryId', requireRole('operator', 'user', 'auditor'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    assertMayRead(c, id);
    const entryId = c.req.param('entryId');
    const history = /^[0-9]{1,19}$/.test(entryId) ? await getDepositHistory(deps.pool, id, BigInt(entryId)) : null;
    if (!history) throw new ApiError(404, 'deposit_not_found', `user ${id} has no deposit ${entryId}`);
    const units = (amount: bigint | null, scale: number) => (amount === null ? null : formatUnits(amount, scale));
    return c.json({
      id: history.entryId.toString(),
      chain: history.chain,
      address: history.address,
      asset: history.asset,
      amount: history.amount.toString(),
      formatted: formatUnits(history.amount, history.scale),
      txHash: history.txHash,
      steps: history.steps.map((s) => ({
        step: s.step,
        at: s.at.toISOString(),
        entryId: s.entryId?.toString() ?? null,
        asset: s.asset,
        amount: s.amount?.toString() ?? null,
        formatted: units(s.amount, s.scale),
        txHash: s.txHash,
        pricing: s.pricing,
        rate: s.rate,
        reason: s.reason,
        status: s.status,
        fee: s.fee?.toString() ?? null,
      })),
    } satisfies z.input<typeof responses.depositHistory>);
  });

  app.get('/:id/balances', requireRole('operator', 'user', 'auditor'), async (c) => {
    const id = pathParam(c, 'id', 'user');
    assertMayRead(c, id);
    await assertUserExists(deps, id);
    const rows = await getUserBalances(deps.pool, id);
    const choco = await getUserChoco(deps.pool, id);
    return c.json({
      userId: id,
      choco: { balance: choco.balance.toString(), formatted: formatUnits(choco.balance, choco.scale) },
      balances: rows.map((b) => ({
        chain: b.chain,
        asset: b.asset,
        pending: b.pending.toString(),
        confirmed: b.confirmed.toString(),
        pendingFormatted: formatUnits(b.pending, b.scale),
        confirmedFormatted: formatUnits(b.confirmed, b.scale),
      })),
    } satisfies z.input<typeof responses.userBalances>);
  });

  return app;
}
