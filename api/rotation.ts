// The API's side of key rotation: the request body (how long the old key overlaps) and the
// answer that shows the new key, once.
import type { Context } from 'hono';
import { z } from 'zod';
import { parseOverlapSeconds } from '../rotations/index.ts';
import type { ApiDependencies, AppEnv } from './context.ts';
import { rotateApiKey } from '../access/index.ts';
import { readOptionalJsonBody } from './problem.ts';
import type * as responses from './responses.ts';
import { parseWith } from './routes/ledger.ts';

export const rotateKeyBody = z.strictObject({
  overlap: z.string().max(20).optional().describe('how long the old key stays valid: 0, or a duration such as 15m, 24h, 7d (default 24h)'),
});

/** Rotates key `id` for the caller (its role and id are the actor) and answers 201 with the new key. */
export async function rotateKeyAnswer(c: Context<AppEnv>, deps: ApiDependencies, id: string, scope: { walletId?: string } = {}) {
  const body = parseWith(rotateKeyBody, await readOptionalJsonBody(c.req));
  const identity = c.get('identity');
  const rotated = await rotateApiKey(deps.pool, id, {
    overlapSeconds: parseOverlapSeconds(body.overlap),
    actor: `${identity.role}:${identity.id}`,
    now: deps.now?.() ?? new Date(),
    ...scope,
  });
  return c.json({ id: rotated.id, role: rotated.role, key: rotated.key, replaces: rotated.replaces, oldExpiresAt: rotated.oldExpiresAt.toISOString() } satisfies z.input<typeof responses.rotatedKey>, 201);
}
