// The relayer's HTTP surface, at the root like Defender's: point DEFENDER_API_URL at coffer and
// @openzeppelin/defender-sdk-relay-signer-client works unchanged. /auth/login and
// /auth/refresh-token issue tokens; /relayers/self/... act as the relayer the token belongs to.
// Also seed 002's /relay, /relay/:id and /relayer (X-Api-Key + X-Api-Secret, or a token).
//
// The official client retries any 4xx other than 401/403 three times and then throws even if a
// retry succeeded, so a send is never answered with a transient 4xx: a repeat finds the first
// send (deduplicated), and capacity problems are 503s, which it does not retry.
import { Hono, type MiddlewareHandler } from 'hono';
import { isHex, type Hex } from 'viem';
import { z } from 'zod';
import { broadcast, defenderView, findByIdOrNonce, getTransaction, listTransactions, login, refresh, relayerByAccessToken, relayerByCredentials, relayerStatus, relayerView, relayStatus, replaceTransaction, relayNow, replaceWithNoop, sendTransaction, type Relayer, type RelayContext } from '../../relayer/index.ts';
import { signatureHex } from '../../chains/index.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { ApiError, readJsonBody, readOptionalJsonBody } from '../problem.ts';
import { pathParam } from '../params.ts';
import { parseWith } from './ledger.ts';
import type * as responses from '../responses.ts';

const credentials = z.object({ apiKey: z.string().min(1).max(200), secretKey: z.string().min(1).max(200), type: z.string().optional() });
const refreshBody = credentials.extend({ refreshToken: z.string().min(1).max(200) });
const signBody = z.object({ message: z.string().max(65_536) });
const typedBody = z.object({ domainSeparator: z.string().regex(/^0x[0-9a-fA-F]{64}$/), hashStructMessage: z.string().regex(/^0x[0-9a-fA-F]{64}$/) });
/** Bounds on the list's query values; what each means (and the paging) is the list's own business. */
const printable = (lengthMax: number) => z.string().max(lengthMax).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII');
const txsQuery = z.object({ status: printable(20).optional(), since: printable(40).optional(), limit: printable(10).optional(), sort: printable(10).optional(), next: printable(200).optional(), usePagination: printable(10).optional() });
const rpcBody = z.object({ method: z.string().max(100), params: z.array(z.unknown()).max(100).optional(), id: z.union([z.number(), z.string()]).optional(), jsonrpc: z.string().optional() });

/** Read-only node methods a relayer's provider needs; sending and signing go through the relayer's own routes. */
const rpcMethods = new Set([
  'eth_chainId', 'net_version', 'eth_blockNumber', 'eth_getBalance', 'eth_getCode', 'eth_getStorageAt', 'eth_call', 'eth_estimateGas',
  'eth_gasPrice', 'eth_maxPriorityFeePerGas', 'eth_feeHistory', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getTransactionByHash',
  'eth_getTransactionReceipt', 'eth_getTransactionCount', 'eth_getLogs',
]);

const defaultTokenSettings = { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 };

function relayContext(deps: ApiDependencies): RelayContext {
  if (!deps.relay) throw new ApiError(503, 'relayer_unavailable', 'this coffer has no relayer configured (EVM_RPC_URL and the keystore passphrase)');
  return deps.relay.ctx;
}

/** The relayer behind `X-Api-Key` + `Authorization: Bearer <access token>` (or seed 002's `X-Api-Secret`). */
function relayerAuth(deps: ApiDependencies, options: { allowSecret: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const ctx = relayContext(deps);
    const apiKey = c.req.header('x-api-key') ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const secret = c.req.header('x-api-secret');
    let relayer: Relayer | 'expired' | null = null;
    if (bearer && apiKey) relayer = await relayerByAccessToken(deps.pool, apiKey, bearer, relayNow(ctx));
    else if (options.allowSecret && secret && apiKey) relayer = await relayerByCredentials(deps.pool, apiKey, secret);
    // 401 (reason phrase "Unauthorized") makes the official client refresh its token and retry.
    if (relayer === 'expired') throw new ApiError(401, 'token_expired', 'the access token expired; refresh it');
    if (!relayer) throw new ApiError(401, 'unauthorized', 'send X-Api-Key and Authorization: Bearer <access token from /auth/login>');
    c.set('relayer', relayer);
    await next();
  };
}

export function defenderRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const ctx = () => relayContext(deps);
  const sendAndBroadcast = async (relayer: Relayer, body: unknown, origin: 'defender' | 'relay', idempotencyKey: string | undefined) => {
    const { tx, replayed } = await sendTransaction(ctx(), relayer, body, { origin, ...(idempotencyKey ? { idempotencyKey } : {}) });
    // Broadcast after the answer is decided; a failure here is the monitor's to retry.
    if (!replayed) void broadcast(ctx(), tx).catch((error: unknown) => deps.logger.warn('broadcast after send failed; the monitor retries', { transactionId: tx.id, error }));
    return tx;
  };
  const idempotencyKey = (header: string | undefined) => {
    if (header === undefined) return undefined;
    if (header.length < 1 || header.length > 200) throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 200 characters');
    return header;
  };

  app.post('/auth/login', async (c) => {
    const body = parseWith(credentials, await readJsonBody(c.req));
    const tokens = await login(deps.pool, body, deps.relay?.tokens ?? defaultTokenSettings, relayNow(deps.relay?.ctx ?? {}));
    if (!tokens) throw new ApiError(403, 'forbidden', 'API key or secret is wrong');
    return c.json(tokens satisfies z.input<typeof responses.tokens>);
  });
  app.post('/auth/refresh-token', async (c) => {
    const body = parseWith(refreshBody, await readJsonBody(c.req));
    const tokens = await refresh(deps.pool, body, deps.relay?.tokens ?? defaultTokenSettings, relayNow(deps.relay?.ctx ?? {}));
    if (!tokens) throw new ApiError(403, 'forbidden', 'API key, secret or refresh token is wrong or expired; log in again');
    return c.json(tokens satisfies z.input<typeof responses.tokens>);
  });

  const self = new Hono<AppEnv>();
  self.use(relayerAuth(deps, { allowSecret: false }));
  self.get('/', async (c) => c.json(await relayerView(deps.pool, c.get('relayer'))));
  self.get('/status', async (c) => c.json(await relayerStatus(deps.pool, c.get('relayer'))));
  self.post('/txs', async (c) => {
    const relayer = c.get('relayer');
    const tx = await sendAndBroadcast(relayer, await readJsonBody(c.req), 'defender', idempotencyKey(c.req.header('idempotency-key')));
    return c.json(defenderView(tx, relayer));
  });
  self.get('/txs', async (c) => {
    const relayer = c.get('relayer');
    const q = parseWith(txsQuery, c.req.query());
    const status = q.status as 'pending' | 'mined' | 'failed' | 'expired' | undefined;
    if (status !== undefined && !['pending', 'mined', 'failed', 'expired'].includes(status)) throw new ApiError(400, 'invalid_request', 'status is one of pending, mined, failed, expired');
    const since = q.since ? new Date(q.since) : undefined;
    if (since && Number.isNaN(since.getTime())) throw new ApiError(400, 'invalid_request', 'since must be an ISO 8601 time');
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new ApiError(400, 'invalid_request', 'limit is a whole number from 1 to 500');
    const sort = q.sort === 'asc' ? 'asc' : 'desc';
    const page = await listTransactions(deps.pool, relayer.id, { ...(status ? { status } : {}), ...(since ? { since } : {}), limit, sort, ...(q.next ? { next: q.next } : {}) });
    const items = page.items.map((tx) => defenderView(tx, relayer));
    return q.usePagination === 'true' ? c.json(page.next ? { items, next: page.next } : { items }) : c.json(items);
  });
  self.get('/txs/:id', async (c) => {
    const relayer = c.get('relayer');
    const byNonce = c.req.query('nonce') === 'true';
    const id = pathParam(c, 'id', byNonce ? 'relayerTransactionOrNonce' : 'relayerTransaction');
    const tx = byNonce ? await findByIdOrNonce(deps.pool, relayer.id, /^\d{1,19}$/.test(id) ? id : 'x') : await getTransaction(deps.pool, relayer.id, id);
    if (!tx) throw new ApiError(404, 'transaction_not_found', `no transaction ${id.slice(0, 80)} for this relayer`);
    return c.json(defenderView(tx, relayer));
  });
  self.put('/txs/:idOrNonce', async (c) => {
    const relayer = c.get('relayer');
    const idOrNonce = pathParam(c, 'idOrNonce', 'relayerTransactionOrNonce');
    const current = await findByIdOrNonce(deps.pool, relayer.id, idOrNonce);
    if (!current) throw new ApiError(404, 'transaction_not_found', `no transaction ${idOrNonce} for this relayer`);
    const tx = await replaceTransaction(ctx(), relayer, current.id, await readJsonBody(c.req));
    await broadcast(ctx(), tx);
    // Read again: the broadcast may have moved it on (sent → submitted).
    return c.json(defenderView((await getTransaction(deps.pool, relayer.id, tx.id)) ?? tx, relayer));
  });
  self.delete('/txs/:id', async (c) => {
    const relayer = c.get('relayer');
    const idOrNonce = pathParam(c, 'id', 'relayerTransactionOrNonce');
    const current = await findByIdOrNonce(deps.pool, relayer.id, idOrNonce);
    if (!current) throw new ApiError(404, 'transaction_not_found', `no transaction ${idOrNonce} for this relayer`);
    const tx = await replaceWithNoop(ctx(), relayer, current.id, 'cancelled');
    await broadcast(ctx(), tx);
    return c.json({ message: `transaction ${tx.id} (nonce ${tx.nonce}) is being cancelled by a NOOP`, ...defenderView(tx, relayer) });
  });
  self.post('/sign', async (c) => {
    const relayer = c.get('relayer');
    const { message } = parseWith(signBody, await readJsonBody(c.req));
    const key = await ctx().keys.get(relayer.keyName);
    const bytes: Hex = isHex(message) ? message : (`0x${Buffer.from(message, 'utf8').toString('hex')}`);
    return c.json(signatureHex(key.signMessage(bytes)) satisfies z.input<typeof responses.signature>);
  });
  self.post('/sign-typed-data', async (c) => {
    const relayer = c.get('relayer');
    const body = parseWith(typedBody, await readJsonBody(c.req));
    const key = await ctx().keys.get(relayer.keyName);
    return c.json(signatureHex(key.signTypedHashes(body.domainSeparator as Hex, body.hashStructMessage as Hex)) satisfies z.input<typeof responses.signature>);
  });
  self.post('/jsonrpc', async (c) => {
    const body = parseWith(rpcBody, await readJsonBody(c.req));
    const id = body.id ?? 1;
    if (!rpcMethods.has(body.method)) {
      return c.json({ jsonrpc: '2.0', id, error: { code: -32601, message: `${body.method.slice(0, 60)} is not served here: send transactions with POST /relayers/self/txs, sign with /sign` } } satisfies z.input<typeof responses.jsonRpcAnswer>);
    }
    try {
      const result = await ctx().client.request({ method: body.method as 'eth_chainId', params: (body.params ?? []) as never });
      return c.json({ jsonrpc: '2.0', id, result } satisfies z.input<typeof responses.jsonRpcAnswer>);
    } catch (error) {
      const cause = error as { code?: number; shortMessage?: string };
      return c.json({ jsonrpc: '2.0', id, error: { code: cause.code ?? -32603, message: (cause.shortMessage ?? 'the node refused the call').slice(0, 300) } } satisfies z.input<typeof responses.jsonRpcAnswer>);
    }
  });
  app.route('/relayers/self', self);

  // Seed 002's relay service, same relayer underneath.
  // Per route, not seed.use(): mounted at the root, a use() would guard every path.
  const seedAuth = relayerAuth(deps, { allowSecret: true });
  const seed = new Hono<AppEnv>();
  seed.post('/relay', seedAuth, async (c) => {
    const body = await readOptionalJsonBody(c.req);
    const tx = await sendAndBroadcast(c.get('relayer'), body, 'relay', idempotencyKey(c.req.header('idempotency-key')));
    return c.json({ transactionId: tx.id, hash: tx.hash, status: relayStatus(tx.status) } satisfies z.input<typeof responses.relayedSeed>, 201);
  });
  seed.get('/relay/:id', seedAuth, async (c) => {
    const id = pathParam(c, 'id', 'relayerTransaction');
    const tx = await getTransaction(deps.pool, c.get('relayer').id, id);
    if (!tx) throw new ApiError(404, 'transaction_not_found', `no transaction ${id} for this relayer`);
    return c.json({ transactionId: tx.id, hash: tx.minedHash ?? tx.hash, status: relayStatus(tx.status) } satisfies z.input<typeof responses.relayedSeed>);
  });
  seed.get('/relayer', seedAuth, async (c) => {
    const relayer = c.get('relayer');
    return c.json({ address: relayer.address, balance: (await ctx().client.getBalance({ address: relayer.address })).toString() } satisfies z.input<typeof responses.relayerBalance>);
  });
  app.route('/', seed);
  return app;
}

