// /v1/admin: operators' view of the moving parts. Indexers: cursor, chain head, lag, stop reason.
import { Hono } from 'hono';
import { z } from 'zod';
import { listRotations, rotationKinds, rotationPageMax, rotationView } from '../../rotations/index.ts';
import { pathParam } from '../params.ts';
import { rotateKeyAnswer } from '../rotation.ts';
import { parseWith } from './ledger.ts';
import { listIndexerStatus, type IndexerStatus } from '../../indexers/index.ts';
import { listRefillTargetsOfEveryChain, refilledToday, refillHistory, relayChain, rotateTreasuryKey, startRelayerKeyRotation, targetBalance, treasuryView, type RefillTargetOfChain } from '../../relayer/index.ts';
import { nearRpc, viewAccount } from '../../chains/index.ts';
import type { Address } from 'viem';
import { ApiError } from '../problem.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import type * as responses from '../responses.ts';

export const indexerJson = (s: IndexerStatus): z.input<typeof responses.indexer> => ({
  indexer: s.indexer,
  chain: s.chain,
  processedHeight: s.processedHeight,
  finalizedHeight: s.finalizedHeight,
  chainHead: s.chainHead,
  lag: s.lag,
  finalityDepth: s.finalityDepth,
  openDeposits: s.openDeposits,
  status: s.stoppedReason ? 'stopped' : 'running',
  stoppedReason: s.stoppedReason,
  chainHeadAt: s.chainHeadAt?.toISOString() ?? null,
  updatedAt: s.updatedAt.toISOString(),
});

export const rotationsQuery = z.strictObject({
  kind: z.enum(rotationKinds).optional(),
  subject: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(rotationPageMax).default(100),
  /** The `nextCursor` of the previous page (an event id). */
  cursor: z.string().regex(/^[0-9]{1,19}$/).optional(),
});

/** How long a rotation request waits for mining (and for another rotation's lock) before answering 202: well under a client's timeout. */
const treasuryRotationWaitMs = 5_000;

export function adminRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Any API key, agent keys included: the new key is in the answer, once; the old one overlaps.
  app.post('/keys/:id/rotate', requireRole('operator'), (c) => rotateKeyAnswer(c, deps, pathParam(c, 'id', 'apiKey')));
  // The rotation audit log, every kind of key, newest first.
  app.get('/rotations', requireRole('operator', 'auditor'), async (c) => {
    const query = parseWith(rotationsQuery, c.req.query());
    const events = await listRotations(deps.pool, { limit: query.limit, ...(query.kind ? { kind: query.kind } : {}), ...(query.subject ? { subject: query.subject } : {}), ...(query.cursor ? { before: query.cursor } : {}) });
    return c.json({ data: events.map(rotationView), nextCursor: events.length === query.limit ? events.at(-1)!.id : null } satisfies z.input<typeof responses.rotationsPage>);
  });
  // A relayer's key: the new key is prepared here; the relay monitor funds-then-switches, drains and retires (202).
  app.post('/relayers/:id/rotate-key', requireRole('operator'), async (c) => {
    const relay = deps.relay;
    if (!relay) throw new ApiError(503, 'relayer_unavailable', 'this coffer has no relayer configured (EVM_RPC_URL and the keystore passphrase)');
    const identity = c.get('identity');
    const started = await startRelayerKeyRotation(deps.pool, relay.ctx.keys, pathParam(c, 'id', 'relayer'), { actor: `${identity.role}:${identity.id}` });
    return c.json(started satisfies z.input<typeof responses.relayerKeyRotation>, 202);
  });
  // The treasury hot key: switched before the answer; what is left (its refills in flight, the
  // drain) is waited for only briefly here, and the refill job completes it (202 until then).
  app.post('/treasury/rotate', requireRole('operator'), async (c) => {
    const refills = deps.relay?.refills;
    if (!refills) throw new ApiError(503, 'refills_unavailable', 'refills need EVM_RPC_URL and the keystore passphrase');
    const identity = c.get('identity');
    const rotation = await rotateTreasuryKey(refills, { actor: `${identity.role}:${identity.id}`, waitMs: treasuryRotationWaitMs, lockWaitMs: treasuryRotationWaitMs });
    return c.json(rotation satisfies z.input<typeof responses.treasuryRotation>, rotation.status === 'retired' ? 200 : 202);
  });
  app.get('/indexers', requireRole('operator', 'auditor'), async (c) => c.json({ indexers: (await listIndexerStatus(deps.pool)).map(indexerJson) } satisfies z.input<typeof responses.indexers>));
  // Refills: every chain's targets with their balance now, thresholds, what was sent today, and the history.
  app.get('/refills', requireRole('operator', 'auditor'), async (c) => {
    const refills = deps.relay?.refills;
    if (!refills) throw new ApiError(503, 'refills_unavailable', 'refills need EVM_RPC_URL and the keystore passphrase');
    const today = await refilledToday(deps.pool);
    const near = deps.near ? nearRpc(deps.near.rpcUrl) : null;
    const balanceOf = (t: RefillTargetOfChain): Promise<bigint> | null => {
      if (t.chain === relayChain.chain) return targetBalance(refills.client, { ...t, address: t.address as Address, entryPoint: t.entryPoint as Address | null });
      if (t.chain === 'near' && near) return viewAccount(near, t.address).then((account) => BigInt(account.amount));
      return null;
    };
    const targets = await Promise.all(
      (await listRefillTargetsOfEveryChain(deps.pool)).map(async (t) => ({
        chain: t.chain,
        name: t.name,
        kind: t.kind,
        address: t.address,
        entryPoint: t.entryPoint,
        account: t.account,
        relayerId: t.relayerId,
        balance: (await balanceOf(t)?.then((b) => b.toString(), () => null)) ?? null,
        fundBelow: t.fundBelow.toString(),
        fundTo: t.fundTo.toString(),
        dailyCap: t.dailyCap.toString(),
        refilledToday: (today.get(t.name) ?? 0n).toString(),
      })),
    );
    return c.json({
      treasury: await treasuryView(deps.pool, refills),
      targets,
      history: await refillHistory(deps.pool),
    });
  });
  return app;
}
