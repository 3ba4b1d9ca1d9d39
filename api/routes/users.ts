// /v1/users: operators create users; a user's deposit addresses are derived on first request.
// A `user` key sees only its own user.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { createUser, getDepositAddress, getUser, type DepositAddress, type User } from '../../users/index.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { ApiError, readJsonBody } from '../problem.ts';
import { parseWith } from './ledger.ts';

export const createUserBody = z.strictObject({
  nearAccountId: z.string().min(2).max(64),
  isSweepEnabled: z.boolean().optional(),
});

const userJson = (user: User) => ({ id: user.id, nearAccountId: user.nearAccountId, isSweepEnabled: user.isSweepEnabled, createdAt: user.createdAt.toISOString() });
const addressJson = (a: DepositAddress) => ({
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

/** Operators see every user; a user key only its own, and anyone else is told it does not exist. */
function assertMayRead(c: Context<AppEnv>, userId: string): void {
  const identity = c.get('identity');
  if (identity.role === 'operator') return;
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
    const id = c.req.param('id');
    assertMayRead(c, id);
    const user = await getUser(deps.pool, id);
    if (!user) throw new ApiError(404, 'user_not_found', `no user ${id}`);
    return c.json(userJson(user));
  });

  app.get('/:id/deposit-addresses/:chain', requireRole('operator', 'user'), async (c) => {
    const id = c.req.param('id');
    assertMayRead(c, id);
    if (!deps.derivation) throw new ApiError(503, 'signer_unavailable', 'deposit addresses need the signer\'s root keys, which this server was started without');
    return c.json(addressJson(await getDepositAddress(deps.pool, id, c.req.param('chain'), deps.derivation)));
  });

  return app;
}
