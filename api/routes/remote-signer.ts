// coffer as a remote signer (issue #25), at the root of the API port as its clients expect:
// JSON-RPC at POST /signer (what the OP Stack signer client and Web3Signer's eth1 mode speak:
// health_status, eth_accounts, eth_signTransaction, eth_sign, eth_signTypedData_v4) and
// Web3Signer's REST (/upcheck, /api/v1/eth1/publicKeys, /api/v1/eth1/sign/{identifier}).
// Clients send their token as `Authorization: Bearer <token>`, or in the header configured as
// SIGNER_AUTH_HEADER (op's --signer.header sends any header). The operator's side (keys, policies,
// the audit trail) is under /v1/signer with API keys.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import {
  authenticateSigningClient,
  clientKeys,
  eventsPageMax,
  getSignerKey,
  listSignerEvents,
  listSignerKeys,
  RemoteSignerError,
  setSignerPolicy,
  signerKeyNamePattern,
  signerPolicySchema,
  signPersonalMessage,
  signRaw,
  signTransaction,
  signTypedData,
  type RemoteSignerContext,
  type SignerEvent,
  type SignerKey,
  type SigningClient,
} from '../../remote-signer/index.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { ApiError, readJsonBody } from '../problem.ts';
import type * as responses from '../responses.ts';
import { parseWith } from './ledger.ts';

/** Batch requests carry at most this many calls (the Go client sends one at a time). */
export const signerBatchMax = 20;

/** JSON-RPC error codes: the standard ones, Web3Signer's -32000 for an unknown sender, and coffer's. */
export const signerRpcCodes = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  unknownKey: -32000,
  refused: -32001,
  unauthorized: -32002,
  unavailable: -32003,
} as const;

const rpcRequest = z.object({
  jsonrpc: z.literal('2.0').optional(),
  id: z.union([z.number(), z.string().max(200), z.null()]).optional(),
  method: z.string().max(100),
  params: z.array(z.unknown()).max(10).optional(),
});

type RpcId = number | string | null;
type RpcAnswer = z.input<typeof responses.jsonRpcAnswer>;

const rpcError = (id: RpcId, code: number, message: string, data?: Record<string, unknown>): RpcAnswer => ({ jsonrpc: '2.0', id, error: { code, message, ...(data ? { data } : {}) } });

function signerContext(deps: ApiDependencies): RemoteSignerContext | null {
  return deps.remoteSigner?.ctx ?? null;
}

/** The token from the configured header (bare, or as "Bearer <token>"), else from Authorization. */
function presentedToken(c: Context<AppEnv>, headerName: string): string | null {
  for (const name of new Set([headerName.toLowerCase(), 'authorization'])) {
    const value = c.req.header(name)?.trim();
    if (!value) continue;
    return /^Bearer\s+(\S+)$/i.exec(value)?.[1] ?? value;
  }
  return null;
}

async function signingClient(deps: ApiDependencies, c: Context<AppEnv>): Promise<SigningClient | null> {
  const token = presentedToken(c, deps.remoteSigner?.authHeader ?? 'authorization');
  return token ? authenticateSigningClient(deps.pool, token) : null;
}

async function call(ctx: RemoteSignerContext, client: SigningClient, method: string, params: unknown[]): Promise<unknown> {
  switch (method) {
    case 'health_status':
      return 'OK';
    case 'eth_accounts':
      return (await clientKeys(ctx, client)).map((key) => key.address).sort();
    case 'eth_signTransaction':
      return signTransaction(ctx, client, params[0]);
    case 'eth_sign':
      return signPersonalMessage(ctx, client, params[0], params[1]);
    case 'eth_signTypedData':
    case 'eth_signTypedData_v4':
      return signTypedData(ctx, client, params[0], params[1]);
    default:
      throw new RpcMethodNotFound(method);
  }
}

class RpcMethodNotFound extends Error {
  override name = 'RpcMethodNotFound';
}

async function answer(deps: ApiDependencies, ctx: RemoteSignerContext, client: SigningClient, input: unknown): Promise<RpcAnswer> {
  const request = rpcRequest.safeParse(input);
  const id: RpcId = request.success ? (request.data.id ?? null) : null;
  if (!request.success) return rpcError(id, signerRpcCodes.invalidRequest, 'a JSON-RPC request is {"jsonrpc":"2.0","id","method","params":[…]}');
  try {
    return { jsonrpc: '2.0', id, result: await call(ctx, client, request.data.method, request.data.params ?? []) };
  } catch (error) {
    if (error instanceof RpcMethodNotFound) return rpcError(id, signerRpcCodes.methodNotFound, `the signer does not serve ${error.message.slice(0, 100)}`);
    if (error instanceof RemoteSignerError) {
      const code = {
        invalid_params: signerRpcCodes.invalidParams,
        unknown_key: signerRpcCodes.unknownKey,
        not_found: signerRpcCodes.unknownKey,
        conflict: signerRpcCodes.invalidParams,
        policy_refused: signerRpcCodes.refused,
        key_unavailable: signerRpcCodes.unavailable,
        unavailable: signerRpcCodes.unavailable,
      }[error.code];
      return rpcError(id, code, error.message, error.detail ?? { reason: error.code });
    }
    deps.logger.error('remote signer request failed', { method: request.data.method, client: client.id, error });
    return rpcError(id, signerRpcCodes.internal, 'the signer failed on our side; nothing was signed');
  }
}

export function remoteSignerRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const requireClient = async (c: Context<AppEnv>): Promise<{ ctx: RemoteSignerContext; client: SigningClient }> => {
    const ctx = signerContext(deps);
    if (!ctx) throw new ApiError(503, 'signer_unavailable', 'this coffer serves no remote signer');
    const client = await signingClient(deps, c);
    if (!client) throw new ApiError(401, 'unauthorized', 'send the signing client token as Authorization: Bearer <token>');
    return { ctx, client };
  };

  app.get('/upcheck', (c) => c.text('OK'));

  app.post('/signer', async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text()) as unknown;
    } catch {
      return c.json(rpcError(null, signerRpcCodes.parse, 'the request body is not JSON'));
    }
    const ctx = signerContext(deps);
    if (!ctx) return c.json(rpcError(null, signerRpcCodes.unavailable, 'this coffer serves no remote signer'), 503);
    const client = await signingClient(deps, c);
    if (!client) return c.json(rpcError(null, signerRpcCodes.unauthorized, 'send the signing client token as Authorization: Bearer <token> (or in the configured SIGNER_AUTH_HEADER)'), 401);
    if (!Array.isArray(body)) return c.json(await answer(deps, ctx, client, body));
    if (body.length === 0 || body.length > signerBatchMax) return c.json(rpcError(null, signerRpcCodes.invalidRequest, `a batch holds 1 to ${signerBatchMax} requests`));
    const answers: RpcAnswer[] = [];
    // One after another: requests for the same key are serialised by its lock anyway.
    for (const item of body) answers.push(await answer(deps, ctx, client, item));
    return c.json(answers);
  });

  app.get('/api/v1/eth1/publicKeys', async (c) => {
    const { ctx, client } = await requireClient(c);
    return c.json((await clientKeys(ctx, client)).map((key) => key.publicKey) satisfies z.input<typeof responses.signerPublicKeys>);
  });

  app.post('/api/v1/eth1/sign/:identifier', async (c) => {
    const { ctx, client } = await requireClient(c);
    const body = parseWith(z.object({ data: z.string().max(300_000) }), await readJsonBody(c.req));
    // A refusal is a problem document (app.ts maps the code: 404 unknown key, 403 refused, …).
    return c.text(await signRaw(ctx, client, c.req.param('identifier'), body.data));
  });
  return app;
}

/**
 * The API port's answer to signing clients when the signer is served over mutual TLS: a pointer
 * to the TLS port, and nothing signed. /upcheck stays, as a liveness probe that reveals nothing.
 */
export function remoteSignerOverTlsOnly(tlsPort: number): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const message = `this coffer serves its remote signer over mutual TLS on port ${tlsPort}: connect there with a client certificate`;
  app.get('/upcheck', (c) => c.text('OK'));
  app.post('/signer', (c) => c.json(rpcError(null, signerRpcCodes.unauthorized, message), 403));
  app.all('/api/v1/eth1/*', () => {
    throw new ApiError(403, 'signer_requires_mtls', message);
  });
  return app;
}

export const signerKeyJson = (key: SignerKey): z.input<typeof responses.signerKey> => ({
  name: key.name,
  address: key.address,
  publicKey: key.publicKey,
  source: key.source,
  predecessor: key.predecessor,
  path: key.path,
  policyVersion: key.policyVersion,
  policy: key.policy === null ? null : { timeZone: key.policy.timeZone, rules: key.policy.rules },
  createdAt: key.createdAt.toISOString(),
});

const eventJson = (event: SignerEvent): z.input<typeof responses.signerEvent> => ({ ...event, at: event.at.toISOString() });

export const signerEventsQuery = z.object({
  key: z.string().regex(signerKeyNamePattern).optional(),
  kind: z.enum(['signed', 'refused', 'policy_set']).optional(),
  cursor: z.string().regex(/^[1-9][0-9]{0,18}$/).optional(),
  limit: z.coerce.number().int().min(1).max(eventsPageMax).default(100),
});

/** /v1/signer: the operator's view of keys and their policies, and the audit trail (auditors read). */
export function remoteSignerAdminRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const keyName = (c: Context<AppEnv>) => {
    const name = c.req.param('name') ?? '';
    if (!signerKeyNamePattern.test(name)) throw new ApiError(400, 'invalid_id', `${JSON.stringify(name.slice(0, 60))} is not a signer key name`, { field: 'name' });
    return name;
  };
  app.get('/keys', requireRole('operator', 'auditor'), async (c) => c.json({ data: (await listSignerKeys(deps.pool)).map(signerKeyJson) } satisfies z.input<typeof responses.signerKeys>));
  app.get('/keys/:name', requireRole('operator', 'auditor'), async (c) => {
    const key = await getSignerKey(deps.pool, keyName(c));
    if (!key) throw new ApiError(404, 'not_found', 'no signer key of that name');
    return c.json(signerKeyJson(key));
  });
  app.put('/keys/:name/policy', requireRole('operator'), async (c) => {
    const name = keyName(c);
    const policy = parseWith(signerPolicySchema, await readJsonBody(c.req));
    return c.json(signerKeyJson(await setSignerPolicy(deps.pool, { key: name, policy, actor: `api-key:${c.get('identity').id}` })));
  });
  app.get('/events', requireRole('operator', 'auditor'), async (c) => {
    const query = parseWith(signerEventsQuery, c.req.query());
    const events = await listSignerEvents(deps.pool, { ...(query.key ? { key: query.key } : {}), ...(query.kind ? { kind: query.kind } : {}), ...(query.cursor ? { beforeId: query.cursor } : {}), limit: query.limit });
    const nextCursor = events.length === query.limit ? events.at(-1)!.id : null;
    return c.json({ data: events.map(eventJson), nextCursor } satisfies z.input<typeof responses.signerEvents>);
  });
  return app;
}
