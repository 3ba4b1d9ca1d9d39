// POST /v1/admin/relayers/:id/rotate-key (issue #25): an operator rotates a relayer's key through
// the API as `coffer relayers rotate-key` does; the relay monitor completes it (funded, switched,
// drained, retired), the Defender credentials keep working, and refusals carry their codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiKey } from '../access/index.ts';
import { listRotations } from '../rotations/index.ts';
import { eventually } from '../testing/evm-world.ts';
import { createRelayBed, type RelayBed } from '../testing/relay-bed.ts';
import { refillPass } from '../relayer/index.ts';
import { createApp } from './index.ts';

let bed: RelayBed;
let app: ReturnType<typeof createApp>;
let operator: { id: string; key: string };
let auditor: { id: string; key: string };

before(async () => {
  bed = await createRelayBed();
  operator = await createApiKey(bed.db.pool, { role: 'operator', name: 'ops' });
  auditor = await createApiKey(bed.db.pool, { role: 'auditor', name: 'audit' });
  app = createApp({ pool: bed.db.pool, writer: bed.refills.writer, logger: bed.refills.logger, relay: { ctx: bed.ctx, tokens: { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 }, refills: bed.refills } });
});
after(async () => {
  await bed?.close();
});

const rotate = (id: string, key = operator.key) => app.request(`/v1/admin/relayers/${id}/rotate-key`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
const code = async (response: Response) => ((await response.json()) as { code: string }).code;

describe('relayer key rotation through the operator API', () => {
  test('202 with the new key; the monitor completes it; a second rotation meanwhile is 409', async () => {
    const response = await rotate(bed.relayer.id);
    assert.equal(response.status, 202);
    const started = (await response.json()) as { relayerId: string; oldAddress: string; newAddress: string; keyName: string };
    assert.deepEqual(Object.keys(started).sort(), ['keyName', 'newAddress', 'oldAddress', 'relayerId']);
    assert.equal(started.relayerId, bed.relayer.id);
    assert.equal(started.oldAddress, bed.relayer.address);
    assert.notEqual(started.newAddress, started.oldAddress);

    const twice = await rotate(bed.relayer.id);
    assert.equal(twice.status, 409);
    assert.equal(await code(twice), 'rotation_in_progress');

    // The refill job funds the new key; the monitor switches, drains the old key and retires it.
    await refillPass(bed.refills);
    await eventually('the old key retired', async () => (await bed.db.pool.query<{ status: string }>('SELECT status FROM relayer_keys WHERE address = $1', [started.oldAddress])).rows[0]?.status === 'retired', 60_000);
    const steps = (await listRotations(bed.db.pool, { kind: 'relayer_key', subject: bed.relayer.id })).reverse();
    assert.deepEqual(steps.map((s) => s.step), ['rotated', 'activated', 'drained', 'retired']);
    assert.equal(steps[0]!.actor, `operator:${operator.id}`);
    assert.equal(steps[0]!.newRef, started.newAddress);
  });

  test('an unknown relayer is 404, a malformed id 400, and only operators may rotate', async () => {
    const unknown = await rotate('rl_0000000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(await code(unknown), 'relayer_not_found');
    const malformed = await rotate('not-a-relayer');
    assert.equal(malformed.status, 400);
    assert.equal(await code(malformed), 'invalid_id');
    const forbidden = await rotate(bed.relayer.id, auditor.key);
    assert.equal(forbidden.status, 403);
  });

  test('/openapi.json documents both rotation routes', async () => {
    const spec = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
    assert.ok(spec.paths['/v1/admin/relayers/{id}/rotate-key']?.post?.responses['202']);
    assert.ok(spec.paths['/v1/admin/treasury/rotate']?.post?.responses['202']);
  });
});
