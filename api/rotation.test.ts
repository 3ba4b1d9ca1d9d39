// API and agent key rotation through the API: the new key is shown once, the old one works
// through the overlap and is refused after it (a driven clock, no waiting), and every rotation
// is in the audit log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import { createWallet } from '../wallets/index.ts';
import { parseOverlapSeconds } from '../rotations/index.ts';
import { authenticateApiKey, createApiKey, rotateApiKey } from '../access/index.ts';
import { createApp } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let app: ReturnType<typeof createApp>;
let clock = new Date('2026-12-01T12:00:00Z');
const minutes = (n: number) => new Date(clock.getTime() + n * 60_000);
let operator: { id: string; key: string };
let owner: { id: string; key: string };
let agent: { id: string; key: string };
let otherAgent: { id: string; key: string };

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  app = createApp({ pool: db.pool, writer, logger: silentLogger, now: () => clock });
  operator = await createApiKey(db.pool, { role: 'operator', name: 'ops' });
  const user = await createUser(db.pool, { nearAccountId: 'rotation-owner.testnet' });
  owner = await createApiKey(db.pool, { role: 'user', userId: user.id });
  const keys = { nearNetwork: 'testnet' as const, secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
  await createWallet(db.pool, keys, { id: 'rot-wallet', ownerUserId: user.id, actor: 'test' });
  await createWallet(db.pool, keys, { id: 'rot-other', ownerUserId: user.id, actor: 'test' });
  agent = await createApiKey(db.pool, { role: 'agent', walletId: 'rot-wallet', name: 'bot' });
  otherAgent = await createApiKey(db.pool, { role: 'agent', walletId: 'rot-other' });
});
after(async () => {
  await writer.close();
  await db.drop();
});

const call = (path: string, key: string, init: { method?: string; body?: unknown } = {}) =>
  app.request(path, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });

describe('API key rotation', () => {
  test('the old key works during the overlap and is refused after it; the new key works', async () => {
    const auditor = await createApiKey(db.pool, { role: 'auditor', name: 'audit firm' });
    const rotated = await call(`/v1/admin/keys/${auditor.id}/rotate`, operator.key, { method: 'POST', body: { overlap: '1h' } });
    assert.equal(rotated.status, 201);
    const fresh = (await rotated.json()) as { id: string; role: string; key: string; replaces: string; oldExpiresAt: string };
    assert.equal(fresh.role, 'auditor');
    assert.equal(fresh.replaces, auditor.id);
    assert.notEqual(fresh.id, auditor.id);
    assert.equal(fresh.oldExpiresAt, minutes(60).toISOString());

    const start = clock;
    try {
      clock = new Date(start.getTime() + 59 * 60_000);
      assert.equal((await call('/v1/ledger/trial-balance', auditor.key)).status, 200, 'old key inside the overlap');
      assert.equal((await call('/v1/ledger/trial-balance', fresh.key)).status, 200, 'new key');
      clock = new Date(start.getTime() + 60 * 60_000);
      const refused = await call('/v1/ledger/trial-balance', auditor.key);
      assert.equal(refused.status, 401, 'old key at the end of the overlap');
      assert.equal(((await refused.json()) as { code: string }).code, 'unauthorized');
      assert.equal((await call('/v1/ledger/trial-balance', fresh.key)).status, 200, 'new key after the overlap');
    } finally {
      clock = start;
    }
    // The new key carries the old one's name; the stored row is a hash, never the key.
    const { rows } = await db.pool.query<{ name: string; rotated_to: string | null }>('SELECT name, rotated_to FROM api_keys WHERE id = ANY($1) ORDER BY id = $2 DESC', [[auditor.id, fresh.id], auditor.id]);
    assert.deepEqual(rows, [{ name: 'audit firm', rotated_to: fresh.id }, { name: 'audit firm', rotated_to: null }]);
  });

  test('a rotated key is not rotated twice; unknown and malformed ids are refused with codes', async () => {
    const key = await createApiKey(db.pool, { role: 'auditor' });
    assert.equal((await call(`/v1/admin/keys/${key.id}/rotate`, operator.key, { method: 'POST' })).status, 201);
    const again = await call(`/v1/admin/keys/${key.id}/rotate`, operator.key, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'key_already_rotated');
    const unknown = await call('/v1/admin/keys/aaaaaaaaaaaaaaaa/rotate', operator.key, { method: 'POST' });
    assert.equal(((await unknown.json()) as { code: string }).code, 'key_not_found');
    assert.equal((await call('/v1/admin/keys/NOT-AN-ID/rotate', operator.key, { method: 'POST' })).status, 400);
    const overlap = await call(`/v1/admin/keys/${operator.id}/rotate`, operator.key, { method: 'POST', body: { overlap: 'forever' } });
    assert.equal(overlap.status, 400);
    assert.equal(((await overlap.json()) as { code: string }).code, 'invalid_overlap');
    assert.equal((await call(`/v1/admin/keys/${key.id}/rotate`, agent.key, { method: 'POST' })).status, 403, 'only operators rotate any key');
  });

  test('the default overlap is a day', async () => {
    const key = await createApiKey(db.pool, { role: 'auditor' });
    const rotated = await rotateApiKey(db.pool, key.id, { overlapSeconds: parseOverlapSeconds(undefined), actor: 'test', now: clock });
    assert.ok(await authenticateApiKey(db.pool, key.key, minutes(24 * 60 - 1)));
    assert.equal(await authenticateApiKey(db.pool, key.key, minutes(24 * 60)), null);
    assert.ok(await authenticateApiKey(db.pool, rotated.key, minutes(24 * 60)));
  });
});

describe('agent key rotation', () => {
  test('an agent rotates its own key with no overlap: the old key is refused at once, the new one acts for the same wallet', async () => {
    const response = await call(`/v1/wallets/rot-wallet/keys/${agent.id}/rotate`, agent.key, { method: 'POST', body: { overlap: '0' } });
    assert.equal(response.status, 201);
    const fresh = (await response.json()) as { id: string; role: string; key: string };
    assert.equal(fresh.role, 'agent');
    assert.equal((await call('/v1/wallets/rot-wallet', agent.key)).status, 401);
    assert.equal((await call('/v1/wallets/rot-wallet', fresh.key)).status, 200);
    assert.equal((await call('/v1/wallets/rot-other', fresh.key)).status, 404, 'still scoped to its one wallet');
    agent = { id: fresh.id, key: fresh.key };
  });

  test("an agent cannot rotate another wallet's key; the owner rotates any of its wallet's agent keys", async () => {
    assert.equal((await call(`/v1/wallets/rot-other/keys/${otherAgent.id}/rotate`, agent.key, { method: 'POST' })).status, 404);
    assert.equal((await call(`/v1/wallets/rot-wallet/keys/${otherAgent.id}/rotate`, agent.key, { method: 'POST' })).status, 403);
    const wrongWallet = await call(`/v1/wallets/rot-wallet/keys/${otherAgent.id}/rotate`, owner.key, { method: 'POST' });
    assert.equal(((await wrongWallet.json()) as { code: string }).code, 'key_not_found', "a key of another wallet is not this wallet's");
    const byOwner = await call(`/v1/wallets/rot-other/keys/${otherAgent.id}/rotate`, owner.key, { method: 'POST', body: { overlap: '15m' } });
    assert.equal(byOwner.status, 201);
    assert.equal((await call('/v1/wallets/rot-other', otherAgent.key)).status, 200, 'inside the overlap');
  });

  test('every rotation is in the audit log, for operators and auditors, filtered by kind', async () => {
    const auditor = await createApiKey(db.pool, { role: 'auditor' });
    const all = await call('/v1/admin/rotations', auditor.key);
    assert.equal(all.status, 200);
    const page = (await all.json()) as { data: { kind: string; step: string; subject: string; newRef: string; actor: string; overlapUntil: string }[]; nextCursor: string | null };
    const agentRotations = page.data.filter((r) => r.kind === 'agent_key');
    assert.equal(agentRotations.length, 2);
    assert.ok(agentRotations.every((r) => r.step === 'rotated'));
    assert.ok(agentRotations.some((r) => r.actor === `user:${owner.id}` && r.subject === otherAgent.id && r.overlapUntil === minutes(15).toISOString()));
    assert.ok(page.data.some((r) => r.kind === 'api_key' && r.actor === `operator:${operator.id}`));
    const filtered = (await (await call('/v1/admin/rotations?kind=agent_key&limit=1', operator.key)).json()) as typeof page;
    assert.equal(filtered.data.length, 1);
    assert.equal(filtered.data[0]!.kind, 'agent_key');
    assert.ok(filtered.nextCursor);
    const next = (await (await call(`/v1/admin/rotations?kind=agent_key&limit=1&cursor=${filtered.nextCursor}`, operator.key)).json()) as typeof page;
    assert.equal(next.data.length, 1);
    assert.notEqual(next.data[0]!.subject, filtered.data[0]!.subject);
    assert.equal((await call('/v1/admin/rotations', agent.key)).status, 403);
    await assert.rejects(db.pool.query('DELETE FROM key_rotations'), /append-only/);
  });
});
