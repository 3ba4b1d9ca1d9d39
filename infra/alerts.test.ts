// The alerts module against a real database and a real webhook receiver: a condition fires once
// however many passes see it, its resolution is sent once, sync clears what vanished, and the
// webhook is signed like wallet webhooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { activeAlerts, Alerts } from './alerts.ts';
import { createLogger } from './logger.ts';

describe('alerts', () => {
  let db: TestDatabase;
  let receiver: Server;
  const received: { body: Record<string, unknown>; raw: string; signature: string }[] = [];
  const logged: string[] = [];
  let alerts: Alerts;
  const secret = 'whsec_alerts_test';

  before(async () => {
    db = await createTestDatabase();
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        received.push({ body: JSON.parse(raw) as Record<string, unknown>, raw, signature: String(req.headers['coffer-signature']) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    alerts = new Alerts({ db: db.pool, logger: createLogger({ level: 'info', write: (line) => logged.push(line) }), webhook: { url: `http://127.0.0.1:${port}/hook`, secrets: () => Promise.resolve([secret]) } });
  });
  after(async () => {
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await db?.drop();
  });

  test('a condition fires once across passes, resolves once, and fires again if it comes back', async () => {
    const low = { subject: 'paymaster', detail: { balance: '5' } };
    assert.equal(await alerts.raise('refill.target_low', low), true);
    assert.equal(await alerts.raise('refill.target_low', low), false);
    assert.equal(await alerts.raise('refill.target_low', low), false);
    assert.deepEqual(received.map((r) => [r.body.type, r.body.subject, r.body.status]), [['refill.target_low', 'paymaster', 'firing']]);
    assert.equal(logged.filter((line) => line.includes('ALERT refill.target_low')).length, 1);
    const [t, v1] = received[0]!.signature.split(',').map((part) => part.split('=')[1]!);
    assert.equal(v1, createHmac('sha256', secret).update(`${t}.${received[0]!.raw}`).digest('hex'));
    assert.deepEqual((await activeAlerts(db.pool)).map((a) => [a.type, a.subject]), [['refill.target_low', 'paymaster']]);

    assert.equal(await alerts.clear('refill.target_low', 'paymaster'), true);
    assert.equal(await alerts.clear('refill.target_low', 'paymaster'), false);
    assert.equal(await alerts.raise('refill.target_low', low), true);
    assert.deepEqual(received.map((r) => r.body.status), ['firing', 'resolved', 'firing']);
  });

  test('sync raises new conditions of a type, keeps the ones still there quiet, and clears the vanished', async () => {
    received.length = 0;
    await alerts.sync('indexer.stopped', [{ subject: 'evm', detail: { reason: 'deep reorg' } }, { subject: 'bitcoin', detail: { reason: 'deep reorg' } }]);
    await alerts.sync('indexer.stopped', [{ subject: 'evm', detail: { reason: 'deep reorg' } }]);
    await alerts.sync('indexer.stopped', [{ subject: 'evm', detail: { reason: 'deep reorg' } }]);
    assert.deepEqual(received.map((r) => [r.body.subject, r.body.status]), [['evm', 'firing'], ['bitcoin', 'firing'], ['bitcoin', 'resolved']]);
    assert.deepEqual((await activeAlerts(db.pool)).filter((a) => a.type === 'indexer.stopped').map((a) => a.subject), ['evm']);
    assert.deepEqual((await activeAlerts(db.pool)).filter((a) => a.type === 'refill.target_low').map((a) => a.subject), ['paymaster'], 'other types are left alone');
  });
});
