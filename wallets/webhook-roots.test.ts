// Rotating the webhook root: during the overlap every delivery carries a signature under the
// new secret and one under the old, so a receiver on either secret accepts it and may switch
// whenever it likes; after the overlap only the new secret signs. A driven clock, no waiting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import { createWallet, deliverSpendWebhook, requestSpend, rotateWebhookRoot, webhookRootFile } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let dir: string;
let rootPath: string;
let receiver: Server;
let received: { signature: string; body: string }[] = [];
let clock = new Date('2026-12-01T12:00:00Z');
const at = (minutes: number) => new Date(clock.getTime() + minutes * 60_000);
let spendId: string;
let operator: string;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  dir = await mkdtemp(join(tmpdir(), 'coffer-webhook-root-'));
  rootPath = join(dir, 'webhook-root');
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ signature: String(request.headers['coffer-signature']), body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const user = await createUser(db.pool, { nearAccountId: 'hook-owner.testnet' });
  const keys = { nearNetwork: 'testnet' as const, secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
  await createWallet(db.pool, keys, { id: 'hooked', ownerUserId: user.id, webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, actor: 'test' });
  const { spend } = await requestSpend(db.pool, { walletId: 'hooked', idempotencyKey: 'one', body: { to: '0x000000000000000000000000000000000000dEaD', asset: 'ETH', amount: '1' }, requestedBy: 'test' });
  spendId = spend.id;
  operator = (await createApiKey(db.pool, { role: 'operator' })).key;
});
after(async () => {
  receiver.close();
  await writer.close();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A receiver's check, as the webhook documentation tells it: genuine when any v1 matches its secret. */
function accepts(delivery: { signature: string; body: string }, secret: string): boolean {
  const parts = delivery.signature.split(',').map((part) => part.split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const expected = createHmac('sha256', secret).update(`${t}.${delivery.body}`).digest();
  return parts.filter(([k]) => k === 'v1').some(([, v]) => v!.length === 64 && timingSafeEqual(expected, Buffer.from(v!, 'hex')));
}


async function deliver(): Promise<{ signature: string; body: string }> {
  received = [];
  assert.deepEqual(await deliverSpendWebhook({ pool: db.pool, logger: silentLogger, roots: webhookRootFile(rootPath), now: () => clock }, spendId, 'requested'), { delivered: true, httpStatus: 204 });
  assert.equal(received.length, 1);
  return received[0]!;
}

async function secrets(): Promise<{ webhookSecret: string; previousWebhookSecret: string | null; previousSecretValidUntil: string | null }> {
  const app = createApp({ pool: db.pool, writer, logger: silentLogger, now: () => clock, wallets: { keys: { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' }, webhookRoot: webhookRootFile(rootPath) } });
  const response = await app.request('/v1/wallets/hooked/webhook', { method: 'PUT', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }) });
  assert.equal(response.status, 200);
  return (await response.json()) as Awaited<ReturnType<typeof secrets>>;
}

describe('rotating the webhook root', () => {
  test('both secrets sign during the overlap, receivers switch, and after it only the new one signs', async () => {
    const before = await secrets();
    assert.equal(before.previousWebhookSecret, null);
    const first = await deliver();
    assert.equal(first.signature.split(',').length, 2, 'one signature outside a rotation');
    assert.ok(accepts(first, before.webhookSecret));

    const rotated = await rotateWebhookRoot(rootPath, { overlapSeconds: 3_600, now: clock });
    assert.equal(rotated.validUntil.toISOString(), at(60).toISOString());
    assert.notEqual(rotated.newFingerprint, rotated.oldFingerprint);
    assert.ok(!(await readFile(`${rootPath}.previous`, 'utf8')).includes(before.webhookSecret), 'files hold roots, never derived secrets');

    const start = clock;
    try {
      clock = at(30);
      const during = await secrets();
      assert.notEqual(during.webhookSecret, before.webhookSecret);
      assert.equal(during.previousWebhookSecret, before.webhookSecret);
      assert.equal(during.previousSecretValidUntil, rotated.validUntil.toISOString());
      const overlapping = await deliver();
      assert.equal(overlapping.signature.split(',').filter((p) => p.startsWith('v1=')).length, 2);
      assert.ok(accepts(overlapping, before.webhookSecret), 'a receiver still on the old secret accepts');
      assert.ok(accepts(overlapping, during.webhookSecret), 'a receiver already on the new secret accepts');
      assert.ok(!accepts(overlapping, 'whsec_somebody-else'));

      clock = new Date(start.getTime() + 3_600_000);
      const afterwards = await secrets();
      assert.equal(afterwards.webhookSecret, during.webhookSecret);
      assert.equal(afterwards.previousWebhookSecret, null);
      const late = await deliver();
      assert.ok(!accepts(late, before.webhookSecret), 'the old secret no longer signs');
      assert.ok(accepts(late, during.webhookSecret));
    } finally {
      clock = start;
    }
  });

  test('a second rotation waits for the first overlap to end; one stopped between its two writes completes when run again', async () => {
    const other = join(dir, 'second-root');
    await webhookRootFile(other).read(clock);
    await rotateWebhookRoot(other, { overlapSeconds: 600, now: clock });
    await assert.rejects(rotateWebhookRoot(other, { overlapSeconds: 600, now: at(5) }), { code: 'webhook_root_overlapping' });
    const again = await rotateWebhookRoot(other, { overlapSeconds: 600, now: at(10) });
    assert.equal(again.validUntil.toISOString(), at(20).toISOString());

    // Stopped after the old root was kept and before the new one was written: both files hold the same root.
    const stopped = join(dir, 'stopped-root');
    const root = (await webhookRootFile(stopped).read(clock)).current;
    await writeFile(`${stopped}.previous`, JSON.stringify({ root: root.toString('base64url'), validUntil: at(60).toISOString() }));
    const completed = await rotateWebhookRoot(stopped, { overlapSeconds: 3_600, now: at(1) });
    const now = await webhookRootFile(stopped).read(at(2));
    assert.ok(!now.current.equals(root));
    assert.ok(now.previous?.root.equals(root));
    assert.equal(completed.validUntil.toISOString(), at(61).toISOString());
  });
});
