// Bull Board at /admin/queues, for operators: every queue's waiting, active, delayed, failed
// (exhausted jobs stay there) and completed jobs, with retry buttons. The board's page calls
// its own API from the browser, which cannot add a Bearer header, so the operator key is also
// accepted as an HTTP Basic password (any user name): the browser asks once and resends it.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono, MiddlewareHandler } from 'hono';
import type { Pool } from '../infra/index.ts';
import type { AppEnv } from './context.ts';
import { authenticateApiKey } from '../access/index.ts';
import { problemBody } from './problem.ts';

export const boardPath = '/admin/queues';

function operatorOnly(pool: Pool): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
    const key = bearer ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined);
    const identity = key ? await authenticateApiKey(pool, key) : null;
    if (!identity) {
      return c.newResponse(JSON.stringify(problemBody(401, 'unauthorized', 'the queue board needs an operator API key (Bearer, or as the Basic password)')), 401, {
        'Content-Type': 'application/problem+json',
        'WWW-Authenticate': 'Basic realm="coffer queues", charset="UTF-8"',
      });
    }
    if (identity.role !== 'operator') {
      return c.newResponse(JSON.stringify(problemBody(403, 'forbidden', `the queue board needs an operator key; yours is ${identity.role}`)), 403, { 'Content-Type': 'application/problem+json' });
    }
    await next();
  };
}

export function mountQueueBoard(app: Hono<AppEnv>, pool: Pool, queues: readonly Queue[]): void {
  const adapter = new HonoAdapter(serveStatic);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: false })), serverAdapter: adapter });
  adapter.setBasePath(boardPath);
  app.use(`${boardPath}/*`, operatorOnly(pool));
  app.use(boardPath, operatorOnly(pool));
  app.route(boardPath, adapter.registerPlugin() as unknown as Hono<AppEnv>);
}
