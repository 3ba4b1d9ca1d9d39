// /v1/paymaster: the ERC-7677 paymaster service (JSON-RPC, for `sponsor` and operator keys) and
// its policy and decisions (operators set, auditors read). Wallets cannot always set headers on
// a paymaster URL, so the service also takes its key from `?apikey=`, as hosted paymasters do;
// that route is mounted before /v1's header authentication and only it reads the query.
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z, ZodError } from 'zod';
import {
  activeSignerKeyName,
  currentSponsorPolicy,
  handlePaymasterRpc,
  listDecisions,
  listPaymasterSignerRotations,
  rotatePaymasterSigner,
  setSponsorPolicy,
  signerRotationView,
  type SignerRotationContext,
  type StoredSponsorPolicy,
} from '../../sponsor/index.ts';
import { parseOverlapSeconds } from '../../rotations/index.ts';
import { rotateKeyBody } from '../rotation.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { authenticateApiKey } from '../../access/index.ts';
import { ApiError, readJsonBody, readOptionalJsonBody } from '../problem.ts';
import type * as responses from '../responses.ts';
import { parseWith } from './ledger.ts';

export const decisionsQuery = z.strictObject({ sender: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').optional() });

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0' as const, id: null, error: { code, message } });

/** POST /v1/paymaster: answers in JSON-RPC, errors included (viem reads them as RPC errors). */
export function paymasterRpcRoute(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const reply = (body: unknown, status: ContentfulStatusCode = 200) => c.json(body, status);
    const header = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const key = header ?? c.req.query('apikey');
    const identity = key ? await authenticateApiKey(deps.pool, key) : null;
    if (!identity) return reply(rpcError(-32000, 'unauthorized: send Authorization: Bearer <api key> or ?apikey=<api key>'), 401);
    if (identity.role !== 'sponsor' && identity.role !== 'operator') return reply(rpcError(-32000, `forbidden: the paymaster service needs a key with role sponsor; yours is ${identity.role}`), 403);
    if (!deps.sponsor) return reply(rpcError(-32603, 'the paymaster service is not configured here (EVM_RPC_URL, EVM_ENTRYPOINT_ADDRESS, EVM_PAYMASTER_ADDRESS and the sponsor key)'), 503);
    let request: unknown;
    try {
      request = JSON.parse(await c.req.text());
    } catch {
      return reply(rpcError(-32700, 'the body is not JSON'));
    }
    return reply(await handlePaymasterRpc(deps.sponsor, request, { apiKeyId: identity.id }));
  });
  return app;
}

const policyJson = (stored: StoredSponsorPolicy) =>
  ({ version: stored.version, policy: stored.document as Record<string, unknown>, setBy: stored.setBy, createdAt: stored.createdAt.toISOString() }) satisfies z.input<typeof responses.storedSponsorPolicy>;

function signerRotation(deps: ApiDependencies): SignerRotationContext {
  if (!deps.paymasterSigner) throw new ApiError(503, 'paymaster_signer_unavailable', 'the paymaster signer rotation needs EVM_RPC_URL, EVM_PAYMASTER_ADDRESS and the keystore passphrase');
  return deps.paymasterSigner;
}

/** /v1/paymaster/policy, /decisions and /signer, behind /v1's authentication. */
export function paymasterAdminRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/policy', requireRole('operator', 'auditor'), async (c) => {
    const stored = await currentSponsorPolicy(deps.pool);
    if (!stored) throw new ApiError(404, 'no_policy', 'no sponsorship policy is set; until one is, nothing is sponsored');
    return c.json(policyJson(stored));
  });
  app.put('/policy', requireRole('operator'), async (c) => {
    const document = await readJsonBody(c.req);
    try {
      return c.json(policyJson(await setSponsorPolicy(deps.pool, document, c.get('identity').id)));
    } catch (error) {
      if (!(error instanceof ZodError)) throw error;
      const issues = error.issues.map((issue) => ({ field: issue.path.join('.') || null, message: issue.message }));
      throw new ApiError(422, 'invalid_policy', issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; '), { issues });
    }
  });
  app.get('/decisions', requireRole('operator', 'auditor'), async (c) => {
    const { sender } = parseWith(decisionsQuery, c.req.query());
    return c.json({ decisions: await listDecisions(deps.pool, { ...(sender ? { sender } : {}), limit: 200 }) } satisfies z.input<typeof responses.sponsorDecisions>);
  });
  // The signing key: which one signs, and its rotations (each step also in /v1/admin/rotations).
  app.get('/signer', requireRole('operator', 'auditor'), async (c) => {
    const rotation = signerRotation(deps);
    return c.json({
      paymaster: rotation.paymaster,
      activeKey: await activeSignerKeyName(deps.pool, rotation.paymaster, rotation.initialKeyName),
      rotations: (await listPaymasterSignerRotations(deps.pool, rotation.paymaster)).map(signerRotationView),
    } satisfies z.input<typeof responses.paymasterSigner>);
  });
  // Answers once the new key signs (setSigner mined); waits while another rotation runs.
  app.post('/signer/rotate', requireRole('operator'), async (c) => {
    const rotation = signerRotation(deps);
    const body = parseWith(rotateKeyBody, await readOptionalJsonBody(c.req));
    const identity = c.get('identity');
    const rotated = await rotatePaymasterSigner(rotation, { overlapSeconds: parseOverlapSeconds(body.overlap), actor: `${identity.role}:${identity.id}` });
    return c.json(signerRotationView(rotated) satisfies z.input<typeof responses.paymasterSignerRotation>, 201);
  });
  return app;
}
