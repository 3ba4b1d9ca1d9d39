// The HTTP application: middleware, error mapping, and the routers composed under /v1.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { LedgerInputError, LedgerOverloadedError, journalHead } from '../ledger/index.ts';
import { listIndexerStatus } from '../indexers/index.ts';
import { activeAlerts, describeConnectionError, pingDatabase } from '../infra/index.ts';
import { authenticate } from './auth.ts';
import { bodyLimit, drainUnreadBody } from './body-limit.ts';
import { mountQueueBoard } from './board.ts';
import type { ApiDependencies, AppEnv } from './context.ts';
import { docsPage, openApiDocument } from './openapi.ts';
import { domainErrorStatus } from './error-codes.ts';
import { ApiError, problemBody } from './problem.ts';
import type * as responses from './responses.ts';
import type { z } from 'zod';
import { ledgerRoutes } from './routes/ledger.ts';
import { userRoutes } from './routes/users.ts';
import { adminRoutes } from './routes/admin.ts';
import { spendRoutes, walletRoutes } from './routes/wallets.ts';
import { defenderRoutes } from './routes/defender.ts';
import { forwarderRoutes } from './routes/forwarder.ts';
import { RemoteSignerError } from '../remote-signer/index.ts';
import { remoteSignerAdminRoutes, remoteSignerOverTlsOnly, remoteSignerRoutes } from './routes/remote-signer.ts';
import { paymasterAdminRoutes, paymasterRpcRoute } from './routes/paymaster.ts';
import { webPages } from '../web/index.ts';

const requestBodyBytesMax = 256 * 1024;
const requestBodyDrainBytesMax = 16 * 1024 * 1024;
const signerBodyBytesMax = 1024 * 1024;
// PostgreSQL's refusals of a value's form (NUL or bad encoding, an overlong string, bad text for a
// type). The edge validates first; an input that slips past still is the client's fault, not ours.
const postgresInputErrorCodes = new Set(['22021', '22P05', '22001', '22P02', '54000']);

/** Percent-escapes that decode to a NUL byte or another C0 control: no id or query value holds one. */
const controlInUrl = /%(0[0-9a-f]|1[0-9a-f]|7f)/i;

/**
 * Which listener the app serves: the API port (everything), or the remote signer's mutual-TLS
 * port (only the signer's routes, behind the TLS handshake's client-certificate check).
 */
export type ApiListener = 'api' | 'signer-tls';

export function createApp(deps: ApiDependencies, options: { listener?: ApiListener } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const counters = { requests: 0, errors5xx: 0 };
  const document = openApiDocument();
  const docs = docsPage(document);

  app.use(drainUnreadBody({ drainBytesMax: requestBodyDrainBytesMax }));
  app.use(async (c, next) => {
    c.set('requestId', c.req.header('x-request-id')?.slice(0, 100) ?? randomUUID());
    counters.requests += 1;
    if (controlInUrl.test(c.req.url)) throw new ApiError(400, 'invalid_request', 'the path and query must not contain control characters such as NUL');
    await next();
    c.header('X-Request-Id', c.get('requestId'));
    if (c.res.status >= 500) counters.errors5xx += 1;
  });

  app.onError((error, c) => {
    const send = (status: number, code: string, message: string, extra?: Record<string, unknown>) =>
      c.newResponse(JSON.stringify(problemBody(status, code, message, extra)), status as ContentfulStatusCode, {
        'Content-Type': 'application/problem+json',
      });
    if (error instanceof ApiError) return send(error.status, error.code, error.message, error.detail);
    const domain = domainErrorStatus(error);
    if (domain && domain.status !== 500) {
      if (error instanceof LedgerOverloadedError) c.header('Retry-After', '1');
      const detail = error instanceof LedgerInputError && error.field ? { field: error.field } : error instanceof RemoteSignerError ? error.detail : undefined;
      return send(domain.status, domain.code, error.message, detail);
    }
    const postgresCode = (error as { code?: unknown }).code;
    if (typeof postgresCode === 'string' && postgresInputErrorCodes.has(postgresCode)) {
      deps.logger.warn('PostgreSQL refused a request value the edge let through', { requestId: c.get('requestId'), path: c.req.path, code: postgresCode });
      return send(400, 'invalid_request', 'a value in the request has a form that cannot be stored (for example a NUL character or an overlong string)');
    }
    deps.logger.error('request failed', { requestId: c.get('requestId'), path: c.req.path, error });
    // Never the underlying message: it may name tables, values or connection details.
    return send(500, 'internal_error', `something went wrong on our side; quote request id ${c.get('requestId')}`);
  });
  app.notFound((c) => c.newResponse(JSON.stringify(problemBody(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)), 404, { 'Content-Type': 'application/problem+json' }));

  const limit = bodyLimit({ bytesMax: requestBodyBytesMax, drainBytesMax: requestBodyDrainBytesMax });
  const mountRemoteSigner = (routes: Hono<AppEnv>) => {
    // The remote signer's JSON-RPC and Web3Signer's REST, at the root as their clients expect; an
    // op-batcher's calldata transaction is up to ~128 KB, twice that in hex.
    app.use('/signer', bodyLimit({ bytesMax: signerBodyBytesMax, drainBytesMax: requestBodyDrainBytesMax }));
    app.use('/api/v1/eth1/*', limit);
    app.route('/', routes);
  };
  if (options.listener === 'signer-tls') {
    mountRemoteSigner(remoteSignerRoutes(deps));
    return app;
  }

  app.get('/health', (c) => c.json({ status: 'ok' } satisfies z.input<typeof responses.health>));
  app.get('/ready', async (c) => {
    const checks: Record<string, string> = {};
    await pingDatabase(deps.pool).then(() => (checks.postgres = 'ok'), (error: Error) => (checks.postgres = error.message));
    if (deps.readPool) await pingDatabase(deps.readPool).then(() => (checks.replica = 'ok'), (error: Error) => (checks.replica = error.message));
    if (deps.redis) {
      const redis = deps.redis;
      // ioredis answers a command during an outage with its retry-limit text; the outage log knows the cause.
      const problem = deps.redisHealth?.problem() ?? null;
      checks.redis = problem ?? (await redis.ping().then(() => 'ok', (error: unknown) => `cannot reach Redis (${redis.status === 'ready' ? describeConnectionError(error) : `connection ${redis.status}`})`));
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    return c.json({ status: ready ? 'ready' : 'not_ready', checks } satisfies z.input<typeof responses.ready>, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const head = await journalHead(deps.pool).catch(() => -1n);
    const indexers = await listIndexerStatus(deps.pool).catch(() => []);
    const alerts = await activeAlerts(deps.pool).catch(() => []);
    const lines = [
      '# HELP coffer_journal_head_sequence Highest journal entry id in the database, read at each scrape: every process\'s writes (-1: the database did not answer).',
      '# TYPE coffer_journal_head_sequence gauge',
      `coffer_journal_head_sequence ${head}`,
      '# HELP coffer_ledger_writer_batches_total Batches this API process\'s ledger writer committed since it started (workers and indexers write through their own; see coffer_journal_head_sequence for the journal).',
      '# TYPE coffer_ledger_writer_batches_total counter',
      `coffer_ledger_writer_batches_total ${deps.writer.stats.batches}`,
      '# HELP coffer_ledger_writer_entries_total Journal entries this API process\'s ledger writer created since it started (not the journal\'s size: see coffer_journal_head_sequence).',
      '# TYPE coffer_ledger_writer_entries_total counter',
      `coffer_ledger_writer_entries_total ${deps.writer.stats.appended}`,
      '# HELP coffer_ledger_writer_handed_back_total Pipelined runs of this API process\'s ledger writer that gave batches back to the careful path (a replayed key, a failure), since it started.',
      '# TYPE coffer_ledger_writer_handed_back_total counter',
      `coffer_ledger_writer_handed_back_total ${deps.writer.stats.handedBack}`,
      '# HELP coffer_http_requests_total HTTP requests this API process served since it started.',
      '# TYPE coffer_http_requests_total counter',
      `coffer_http_requests_total ${counters.requests}`,
      '# HELP coffer_http_server_errors_total HTTP responses with status 5xx this API process sent since it started.',
      '# TYPE coffer_http_server_errors_total counter',
      `coffer_http_server_errors_total ${counters.errors5xx}`,
      '# HELP coffer_indexer_lag_blocks Chain head minus the last block the indexer applied.',
      '# TYPE coffer_indexer_lag_blocks gauge',
      ...indexers.filter((s) => s.lag !== null).map((s) => `coffer_indexer_lag_blocks{indexer="${s.indexer}",chain="${s.chain}"} ${s.lag}`),
      '# HELP coffer_indexer_processed_height Last block the indexer applied.',
      '# TYPE coffer_indexer_processed_height gauge',
      ...indexers.map((s) => `coffer_indexer_processed_height{indexer="${s.indexer}",chain="${s.chain}"} ${s.processedHeight}`),
      '# HELP coffer_indexer_stopped 1 when the indexer stopped and waits for an operator (deep reorg).',
      '# TYPE coffer_indexer_stopped gauge',
      ...indexers.map((s) => `coffer_indexer_stopped{indexer="${s.indexer}",chain="${s.chain}"} ${s.stoppedReason ? 1 : 0}`),
      '# HELP coffer_alert_active 1 for each operational alert that fired and still holds (the alerts module: low deposits and EOAs, daily caps, stopped indexers, failed sweeps, throttled senders).',
      '# TYPE coffer_alert_active gauge',
      ...alerts.map((a) => `coffer_alert_active{type="${a.type}",subject="${a.subject.replace(/["\\\n]/g, '_')}"} 1`),
    ];
    return c.text(lines.join('\n') + '\n', 200, { 'Content-Type': 'text/plain; version=0.0.4' });
  });
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(docs));

  if (deps.queues) mountQueueBoard(app, deps.pool, deps.queues);
  app.route('/', webPages(deps, domainErrorStatus));

  // Before /v1's header authentication: the paymaster service also takes ?apikey= (see the route).
  app.use('/v1/paymaster', limit);
  app.route('/v1/paymaster', paymasterRpcRoute(deps));
  const v1 = new Hono<AppEnv>();
  v1.use(limit);
  v1.use(authenticate(deps));
  v1.route('/ledger', ledgerRoutes(deps));
  v1.route('/users', userRoutes(deps));
  v1.route('/admin', adminRoutes(deps));
  v1.route('/wallets', walletRoutes(deps));
  v1.route('/spends', spendRoutes(deps));
  v1.route('/forwarder', forwarderRoutes(deps));
  v1.route('/signer', remoteSignerAdminRoutes(deps));
  v1.route('/paymaster', paymasterAdminRoutes(deps));
  app.route('/v1', v1);
  // Defender's relay-signer API and seed 002's relay service live at the root, as their clients expect.
  for (const path of ['/auth/*', '/relayers/*', '/relay']) app.use(path, limit);
  app.route('/', defenderRoutes(deps));
  // With mutual TLS configured, signing on the plain port would go around the client-certificate check.
  const tls = deps.remoteSigner?.tls;
  mountRemoteSigner(tls ? remoteSignerOverTlsOnly(tls.port) : remoteSignerRoutes(deps));
  return app;
}
