// The queue board at /admin/queues: operators only (Bearer or HTTP Basic), served from the
// same app as the API, over real BullMQ queues on Redis (a test-only key prefix).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../infra/index.ts';
import { closeQueues, openQueues, queueNames, redisConnection, type QueueName } from '../jobs/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import type { Queue } from 'bullmq';
import { createApiKey } from '../access/index.ts';
import { createApp } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let queues: Record<QueueName, Queue>;
let app: ReturnType<typeof createApp>;
let operator: string;
let auditor: string;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  queues = openQueues({ connection: redisConnection('redis://127.0.0.1:6379'), prefix: `coffer-test-${randomBytes(4).toString('hex')}`, attempts: 1, backoffMs: 100 });
  app = createApp({ pool: db.pool, writer, logger: silentLogger, queues: Object.values(queues) });
  operator = (await createApiKey(db.pool, { role: 'operator' })).key;
  auditor = (await createApiKey(db.pool, { role: 'auditor' })).key;
});
after(async () => {
  for (const queue of Object.values(queues ?? {})) await queue.obliterate({ force: true });
  if (queues) await closeQueues(queues);
  await writer?.close();
  await db?.drop();
});

describe('the queue board (/admin/queues)', () => {
  test('asks for a key, refuses non-operators, and shows the queues to an operator', async () => {
    const anonymous = await app.request('/admin/queues');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal((await app.request('/admin/queues', { headers: { authorization: `Bearer ${auditor}` } })).status, 403);

    const page = await app.request('/admin/queues', { headers: { authorization: `Bearer ${operator}` } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);

    await queues.credits.add('credit-deposit', { confirmationEntryId: '1' }, { jobId: 'outbox-1' });
    const basic = `Basic ${Buffer.from(`ops:${operator}`).toString('base64')}`;
    const api = await app.request('/admin/queues/api/queues?activeQueue=credits&status=waiting&page=1', { headers: { authorization: basic } });
    assert.equal(api.status, 200);
    const body = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    assert.deepEqual(body.queues.map((q) => q.name).sort(), [...queueNames].sort());
    assert.equal(body.queues.find((q) => q.name === 'credits')!.counts.waiting, 1);
  });
});
