// /v1/admin: operators' view of the moving parts. Indexers: cursor, chain head, lag, stop reason.
import { Hono } from 'hono';
import { listIndexerStatus, type IndexerStatus } from '../../indexers/index.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';

export const indexerJson = (s: IndexerStatus) => ({
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

export function adminRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/indexers', requireRole('operator', 'auditor'), async (c) => c.json({ indexers: (await listIndexerStatus(deps.pool)).map(indexerJson) }));
  return app;
}
