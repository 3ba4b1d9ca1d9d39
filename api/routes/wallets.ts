// /v1/wallets and /v1/spends: agent wallets, their policies and spends (issue #6).
// Who may do what: operators everything; auditors read; a `user` key what concerns wallets it
// owns (read, policy, approvals, freeze); an `agent` key its own wallet (read, spend).
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { formatUnits } from '../../ledger/index.ts';
import {
  approveSpend,
  createWallet,
  currentPolicy,
  freezeWallet,
  getSpend,
  getWalletBalances,
  listSpends,
  listWalletEvents,
  policySchema,
  rejectSpend,
  requestSpend,
  requireWallet,
  setPolicy,
  setWebhookUrl,
  spendStatuses,
  spendView,
  unfreezeWallet,
  walletBudgets,
  webhookSecret,
  webhookRootSource,
  type Spend,
  type StoredPolicy,
  type Wallet,
} from '../../wallets/index.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { ApiError, readJsonBody, readOptionalJsonBody } from '../problem.ts';
import { pathParam } from '../params.ts';
import { parseWith } from './ledger.ts';
import { rotateKeyAnswer } from '../rotation.ts';
import type * as responses from '../responses.ts';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 20 bytes');
const webhookUrl = z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL').max(2_000);

export const createWalletBody = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1–63 lower-case letters, digits and dashes'),
  ownerUserId: z.string().min(1).max(64),
  webhookUrl: webhookUrl.optional(),
});

export const spendBody = z.strictObject({
  to: address,
  asset: z.string().regex(/^[A-Z][A-Z0-9_.-]{0,31}$/, 'must be an asset code such as ETH'),
  amount: z.string().regex(/^[1-9][0-9]{0,77}$/, 'must be a positive whole number of minor units, as a string'),
  data: z.string().regex(/^0x([0-9a-fA-F]{2}){4,}$/, 'must be 0x-prefixed calldata of at least a 4-byte selector').max(200_000).optional(),
});

export const spendsQuery = z.strictObject({
  status: z.enum(spendStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The `nextCursor` of the previous page (a createdAt). */
  cursor: z.iso.datetime({ offset: true }).optional(),
});

const reasonBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });

type Access = 'read' | 'spend' | 'govern';

/**
 * Whether the caller may act on the wallet. Keys with no business there learn nothing about
 * it: a `user` or `agent` key is told the wallet does not exist.
 */
function assertAccess(c: Context<AppEnv>, wallet: Wallet, access: Access): void {
  const identity = c.get('identity');
  if (identity.role === 'operator') return;
  if (identity.role === 'auditor' && access === 'read') return;
  const isOwner = identity.role === 'user' && identity.userId === wallet.ownerUserId;
  const isAgent = identity.role === 'agent' && identity.walletId === wallet.id;
  if (!isOwner && !isAgent) {
    if (identity.role === 'auditor') throw new ApiError(403, 'forbidden', 'auditor keys are read-only');
    throw new ApiError(404, 'wallet_not_found', `no wallet ${wallet.id}`);
  }
  if (access === 'spend' && !isAgent) throw new ApiError(403, 'forbidden', "spends are requested with the wallet's agent key");
  if (access === 'govern' && !isOwner) throw new ApiError(403, 'forbidden', "this needs the wallet owner's key or an operator key");
}

function actorOf(c: Context<AppEnv>): string {
  const identity = c.get('identity');
  return `${identity.role}:${identity.id}`;
}

/** wallets/ shapes a spend (webhooks send the same JSON); the compiler holds it to the API's schema. */
const spendJson: (spend: Spend) => z.input<typeof responses.spend> = spendView;

const policyJson = (walletId: string, stored: StoredPolicy): z.input<typeof responses.storedPolicy> => ({
  walletId,
  version: stored.version,
  createdBy: stored.createdBy,
  createdAt: stored.createdAt.toISOString(),
  policy: stored.policy,
});

async function walletView(deps: ApiDependencies, wallet: Wallet): Promise<z.input<typeof responses.wallet>> {
  const balances = await getWalletBalances(deps.pool, wallet.id);
  const policy = await currentPolicy(deps.pool, wallet.id);
  return {
    id: wallet.id,
    ownerUserId: wallet.ownerUserId,
    chain: wallet.chain,
    address: wallet.address,
    frozen: wallet.frozenAt !== null,
    frozenAt: wallet.frozenAt?.toISOString() ?? null,
    frozenReason: wallet.frozenReason,
    lockedDown: wallet.lockedDownAt !== null,
    webhookUrl: wallet.webhookUrl,
    policyVersion: policy?.version ?? null,
    balances: balances.map((b) => ({
      asset: b.asset,
      available: b.available.toString(),
      held: b.held.toString(),
      pending: b.pending.toString(),
      availableFormatted: formatUnits(b.available, b.scale),
    })),
    budgets: await walletBudgets(deps.pool, wallet.id),
    createdAt: wallet.createdAt.toISOString(),
  };
}

function requireWalletKeys(deps: ApiDependencies) {
  if (!deps.wallets) throw new ApiError(503, 'signer_unavailable', "wallets need the signer's root keys and the webhook root, which this server was started without");
  return deps.wallets;
}

export function walletRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    if (c.get('identity').role !== 'operator') throw new ApiError(403, 'forbidden', 'wallets are created with an operator key');
    const settings = requireWalletKeys(deps);
    const body = parseWith(createWalletBody, await readJsonBody(c.req));
    const wallet = await createWallet(deps.pool, settings.keys, { id: body.id, ownerUserId: body.ownerUserId, ...(body.webhookUrl ? { webhookUrl: body.webhookUrl } : {}), actor: actorOf(c) });
    const roots = await webhookRootSource(settings.webhookRoot).read(deps.now?.());
    return c.json({ ...(await walletView(deps, wallet)), webhookSecret: webhookSecret(roots.current, wallet.id) } satisfies z.input<typeof responses.newWallet>, 201);
  });

  app.get('/:id', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'read');
    return c.json(await walletView(deps, wallet));
  });

  app.get('/:id/policy', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'read');
    const stored = await currentPolicy(deps.pool, wallet.id);
    if (!stored) throw new ApiError(404, 'no_policy', `wallet ${wallet.id} has no policy yet; until it has one, every spend is rejected`);
    return c.json(policyJson(wallet.id, stored));
  });

  app.put('/:id/policy', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'govern');
    const input = await readJsonBody(c.req);
    parseWith(policySchema, input);
    const stored = await setPolicy(deps.pool, wallet.id, input, actorOf(c));
    return c.json(policyJson(wallet.id, stored));
  });

  app.post('/:id/freeze', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'govern');
    const body = parseWith(reasonBody, await readOptionalJsonBody(c.req));
    await freezeWallet(deps.pool, wallet.id, body.reason ?? `frozen by ${actorOf(c)}`, actorOf(c));
    return c.json(await walletView(deps, await requireWallet(deps.pool, wallet.id)));
  });

  app.post('/:id/unfreeze', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'govern');
    const unfrozen = await unfreezeWallet(deps.pool, wallet.id, actorOf(c), { mayLiftLockdown: c.get('identity').role === 'operator' });
    return c.json(await walletView(deps, unfrozen));
  });

  app.put('/:id/webhook', async (c) => {
    const settings = requireWalletKeys(deps);
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'govern');
    const body = parseWith(z.strictObject({ url: webhookUrl.nullable() }), await readJsonBody(c.req));
    await setWebhookUrl(deps.pool, wallet.id, body.url, actorOf(c));
    const roots = await webhookRootSource(settings.webhookRoot).read(deps.now?.());
    return c.json({
      walletId: wallet.id,
      webhookUrl: body.url,
      webhookSecret: webhookSecret(roots.current, wallet.id),
      previousWebhookSecret: roots.previous ? webhookSecret(roots.previous.root, wallet.id) : null,
      previousSecretValidUntil: roots.previous?.validUntil.toISOString() ?? null,
    } satisfies z.input<typeof responses.webhook>);
  });

  // An agent rotates its own key; the owner or an operator names one of the wallet's agent keys.
  app.post('/:id/keys/:keyId/rotate', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    const keyId = pathParam(c, 'keyId', 'apiKey');
    const identity = c.get('identity');
    // 'spend' is the access that means "this wallet's agent".
    assertAccess(c, wallet, identity.role === 'agent' && identity.id === keyId ? 'spend' : 'govern');
    return rotateKeyAnswer(c, deps, keyId, { walletId: wallet.id });
  });

  app.get('/:id/events', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'read');
    const query = parseWith(z.strictObject({ limit: z.coerce.number().int().min(1).max(1_000).default(100), cursor: z.string().regex(/^[0-9]{1,19}$/).optional() }), c.req.query());
    const events = await listWalletEvents(deps.pool, wallet.id, { limit: query.limit, ...(query.cursor ? { before: BigInt(query.cursor) } : {}) });
    const last = events.at(-1);
    return c.json({
      data: events.map((e) => ({ id: e.id.toString(), kind: e.kind, spendId: e.spendId, actor: e.actor, detail: e.detail, at: e.at.toISOString() })),
      nextCursor: last && events.length === query.limit ? last.id.toString() : null,
    } satisfies z.input<typeof responses.walletEventsPage>);
  });

  app.post('/:id/spends', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'spend');
    const idempotencyKey = c.req.header('idempotency-key');
    if (!idempotencyKey) throw new ApiError(400, 'idempotency_key_required', 'send an Idempotency-Key header (1–200 characters) so a retried request cannot spend twice');
    const body = parseWith(spendBody, await readJsonBody(c.req));
    const { spend, replayed } = await requestSpend(deps.pool, { walletId: wallet.id, idempotencyKey, body, requestedBy: actorOf(c) });
    c.header('Location', `/v1/spends/${spend.id}`);
    return c.json(spendJson(spend), replayed ? 200 : 202);
  });

  app.get('/:id/spends', async (c) => {
    const wallet = await requireWallet(deps.pool, pathParam(c, 'id', 'wallet'));
    assertAccess(c, wallet, 'read');
    const query = parseWith(spendsQuery, c.req.query());
    const spends = await listSpends(deps.pool, wallet.id, { limit: query.limit, ...(query.status ? { status: query.status } : {}), ...(query.cursor ? { before: new Date(query.cursor) } : {}) });
    const last = spends.at(-1);
    return c.json({ data: spends.map(spendJson), nextCursor: last && spends.length === query.limit ? last.createdAt.toISOString() : null } satisfies z.input<typeof responses.spendsPage>);
  });

  return app;
}

export function spendRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const spendFor = async (c: Context<AppEnv>, access: Access) => {
    const id = pathParam(c, 'id', 'spend');
    const spend = await getSpend(deps.pool, id);
    if (!spend) throw new ApiError(404, 'spend_not_found', `no spend ${id}`);
    const wallet = await requireWallet(deps.pool, spend.walletId);
    try {
      assertAccess(c, wallet, access);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw new ApiError(404, 'spend_not_found', `no spend ${spend.id}`);
      throw error;
    }
    return spend;
  };

  app.get('/:id', async (c) => c.json(spendJson(await spendFor(c, 'read'))));

  app.post('/:id/approve', async (c) => {
    const spend = await spendFor(c, 'govern');
    return c.json(spendJson(await approveSpend({ writer: deps.writer }, spend.id, actorOf(c))));
  });

  app.post('/:id/reject', async (c) => {
    const spend = await spendFor(c, 'govern');
    const body = parseWith(reasonBody, await readOptionalJsonBody(c.req));
    return c.json(spendJson(await rejectSpend({ writer: deps.writer }, spend.id, actorOf(c), body.reason)));
  });

  return app;
}
