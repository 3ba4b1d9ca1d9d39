// Path parameters checked at the edge against the format of their id, before any query runs:
// PostgreSQL refuses some bytes (NUL) outright, and a refused query would surface as a 500. A
// malformed id answers 400 `invalid_id`; a well-formed one that names nothing, the route's 404.
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from './context.ts';
import { ApiError } from './problem.ts';

const idFormat = (pattern: RegExp, description: string) => z.string().regex(pattern).describe(description);

/** The formats the tables' CHECKs hold (migrations/0005, 0008, 0009), so an id that fails here fails there too. */
export const idFormats = {
  apiKey: idFormat(/^[a-z0-9]{16}$/, 'an API key id: the 16 lower-case letters and digits after coffer_'),
  user: idFormat(/^[a-z0-9]{16}$/, 'a user id: 16 lower-case letters and digits'),
  wallet: idFormat(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a wallet id: 1–63 lower-case letters, digits and dashes'),
  spend: idFormat(/^spd_[a-z0-9]{20}$/, 'a spend id: spd_ and 20 lower-case letters and digits'),
  relayer: idFormat(/^rl_[a-z0-9]{16}$/, 'a relayer id: rl_ and 16 lower-case letters and digits'),
  forwardRequest: idFormat(/^fwd_[a-z0-9]{20}$/, 'a forward request id: fwd_ and 20 lower-case letters and digits'),
  entry: idFormat(/^[0-9]{1,19}$/, 'a journal entry id (its sequence number)'),
  relayerTransaction: idFormat(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a relayer transaction id (a UUID)'),
  relayerTransactionOrNonce: idFormat(
    /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9]{1,19})$/,
    'a relayer transaction id (a UUID) or its nonce',
  ),
  account: idFormat(/^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.@+-]+)+$/, 'an account path like custody:ethereum:0xabc…'),
  chain: idFormat(/^(ethereum|bitcoin|solana|near)$/, 'ethereum, bitcoin, solana or near'),
} as const satisfies Record<string, z.ZodString>;

export type IdKind = keyof typeof idFormats;

/** The path parameter `name`, or a 400 `invalid_id` when it cannot be such an id. */
export function pathParam(c: Context<AppEnv>, name: string, kind: IdKind): string {
  const value = c.req.param(name) ?? '';
  const format = idFormats[kind];
  if (!format.safeParse(value).success) {
    throw new ApiError(400, 'invalid_id', `${name} ${JSON.stringify(value.slice(0, 80))} is not ${format.description ?? 'an id'}`, { field: name });
  }
  return value;
}

/** The OpenAPI description of a path parameter, from the same schema the route checks. */
export function pathParameter(name: string, kind: IdKind) {
  return { name, in: 'path', required: true, schema: z.toJSONSchema(idFormats[kind]) };
}
