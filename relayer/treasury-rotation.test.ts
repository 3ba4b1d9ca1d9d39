// Rotating the treasury hot key with refills in flight (issue #25), on anvil: the operator API
// switches refills to a new key while three refills from the old key wait unmined; the run stops
// there (202) and `coffer treasury rotate` completes it once they are mined: every refill lands
// once, booked from the key that paid it, the old key's balance moves to the new one (booked)
// and ends at zero, each key's account equals its chain balance, and `coffer verify` exits 0.
// Two rotations asked for at once run one after the other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getAddress, type Address } from 'viem';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import { getBalances } from '../ledger/index.ts';
import { listRotations } from '../rotations/index.ts';
import { runCoffer } from '../testing/cli.ts';
import { createRelayBed, ether, type RelayBed } from '../testing/relay-bed.ts';
import { refillPass, setRefillTarget } from './refills.ts';
import { activeTreasuryKey, listTreasuryKeys, treasuryHotAccount } from './treasury-keys.ts';
import { rotateTreasuryKey } from './treasury-rotation.ts';

let bed: RelayBed;
let operatorKey: string;
let app: ReturnType<typeof createApp>;
const targets: Address[] = ['0x00000000000000000000000000000000000c0f01', '0x00000000000000000000000000000000000c0f02', '0x00000000000000000000000000000000000c0f03'];

before(async () => {
  bed = await createRelayBed();
  // The relay monitor is not part of this: only refills and the treasury move.
  bed.monitor.paused = true;
  operatorKey = (await createApiKey(bed.db.pool, { role: 'operator', name: 'ops' })).key;
  app = createApp({ pool: bed.db.pool, writer: bed.refills.writer, logger: bed.refills.logger, relay: { ctx: bed.ctx, tokens: { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 }, refills: bed.refills } });
});
after(async () => {
  await bed?.close();
});

const rows = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await bed.db.pool.query<T>(text, params)).rows;
const ledger = async (account: string) => (await getBalances(bed.db.pool, { account, asset: 'ETH' }))[0]?.balance ?? 0n;
const admin = (path: string, method = 'GET') => app.request(path, { method, headers: { authorization: `Bearer ${operatorKey}` } });
const coffer = (args: string[]) =>
  runCoffer(args, {
    env: {
      ...process.env,
      DATABASE_URL: bed.db.url,
      EVM_RPC_URL: bed.anvil.url,
      COFFER_KEYSTORE_DIR: bed.keystore.directory,
      COFFER_KEYSTORE_PASSPHRASE: 'relay-test-passphrase',
      TREASURY_HOT_KEY: 'treasury-hot',
      SIGNER_BACKEND: 'emulator',
      COFFER_NEAR_ACCOUNT: 'coffer.testnet',
    },
  });

/** Every treasury key's account equals its address's balance on chain. */
async function assertLedgerEqualsChain(): Promise<void> {
  for (const key of await listTreasuryKeys(bed.db.pool)) {
    assert.equal(await ledger(key.account), await bed.client.getBalance({ address: key.address }), `${key.keyName} (${key.status}): ledger = chain`);
  }
}

describe('rotating the treasury hot key', () => {
  test('with refills in flight: switched at once, completed when run again, every refill lands once, the old key drained and booked', async () => {
    const old = (await activeTreasuryKey(bed.db.pool, bed.refills.keys, 'treasury-hot'))!;
    assert.equal(old.address, bed.treasury);
    assert.equal(old.account, treasuryHotAccount);
    for (const [i, address] of targets.entries()) {
      await setRefillTarget(bed.db.pool, { name: `rot-target-${i}`, kind: 'balance', address, entryPoint: null, fundBelow: 1n * ether, fundTo: 2n * ether, dailyCap: 10n * ether });
    }

    // Three refills signed by the old key, broadcast, and left unmined.
    await bed.anvil.rpc('evm_setAutomine', [false]);
    const first = await refillPass({ ...bed.refills, confirmTimeoutMs: 0 });
    assert.deepEqual(first?.targets.filter((t) => t.name.startsWith('rot-target')).map((t) => t.action), ['refilled', 'refilled', 'refilled']);
    const inFlight = await rows<{ id: string; from_address: string }>(`SELECT id::text, from_address FROM refills WHERE status = 'submitted' ORDER BY id`);
    assert.equal(inFlight.length, 3);
    assert.ok(inFlight.every((r) => getAddress(r.from_address) === old.address));

    // The operator API switches at once; the old key's refills are not mined, so the run stops there.
    const started = await admin('/v1/admin/treasury/rotate', 'POST');
    assert.equal(started.status, 202, await started.clone().text());
    const rotation = (await started.json()) as { resumed: boolean; status: string; oldAddress: string; newAddress: string; newKeyName: string; drain: unknown };
    assert.deepEqual([rotation.resumed, rotation.status, rotation.oldAddress, rotation.drain], [false, 'draining', old.address, null]);
    assert.notEqual(rotation.newAddress, old.address);

    // Refills report, and pay from, the new key; the old one shows as draining.
    const view = (await (await admin('/v1/admin/refills')).json()) as { treasury: { address: string; account: string; draining: { address: string } | null } };
    assert.equal(view.treasury.address, rotation.newAddress);
    assert.equal(view.treasury.account, `treasury:ethereum:hot:${rotation.newAddress.toLowerCase()}`);
    assert.equal(view.treasury.draining?.address, old.address);
    // Asked again while it drains: the rotation under way is the answer, not a second one.
    const again = await rotateTreasuryKey(bed.refills, { actor: 'test', waitMs: 0, lockWaitMs: 1_000 });
    assert.deepEqual([again.resumed, again.status, again.newAddress], [true, 'draining', rotation.newAddress]);

    // Mined now; `coffer treasury rotate` finds the rotation under way and completes it.
    await bed.anvil.rpc('evm_setAutomine', [true]);
    await bed.anvil.rpc('evm_mine');
    const cli = await coffer(['treasury', 'rotate', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const done = JSON.parse(cli.stdout) as { resumed: boolean; status: string; newAddress: string; drain: { amount: string; hash: string; entryId: string } };
    assert.deepEqual([done.resumed, done.status, done.newAddress], [true, 'retired', rotation.newAddress]);
    assert.ok(BigInt(done.drain.amount) > 0n);

    // Every refill landed once, booked from the old key's account.
    const settled = await rows<{ status: string; from_address: string; entry_id: string | null }>(`SELECT status, from_address, entry_id::text FROM refills WHERE target LIKE 'rot-target-%' ORDER BY id`);
    assert.deepEqual(settled.map((r) => r.status), ['confirmed', 'confirmed', 'confirmed']);
    assert.equal(new Set(settled.map((r) => r.entry_id)).size, 3);
    for (const address of targets) assert.equal(await bed.client.getBalance({ address }), 2n * ether, `${address} refilled exactly once`);
    // The old key sent exactly the three refills and the drain; it holds nothing, on chain and in the books.
    assert.equal(await bed.client.getTransactionCount({ address: old.address }), (await rows(`SELECT 1 FROM refills WHERE from_address = $1`, [old.address])).length + 1);
    assert.equal(await bed.client.getBalance({ address: old.address }), 0n);
    assert.equal(await ledger(treasuryHotAccount), 0n);
    const [drain] = await rows<{ kind: string; source: string; destination: string; amount: string }>(
      `SELECT e.kind, s.path AS source, d.path AS destination, p.amount::text FROM postings p JOIN journal_entries e ON e.id = p.entry_id
         JOIN accounts s ON s.id = p.source_account_id JOIN accounts d ON d.id = p.destination_account_id WHERE p.entry_id = $1 AND d.path LIKE 'treasury:%'`,
      [done.drain.entryId],
    );
    assert.deepEqual(drain, { kind: 'treasury.drained', source: treasuryHotAccount, destination: view.treasury.account, amount: done.drain.amount });
    await assertLedgerEqualsChain();

    // The next refill pays from the new key and is booked from its account.
    await setRefillTarget(bed.db.pool, { name: 'rot-target-new', kind: 'balance', address: '0x00000000000000000000000000000000000c0f04', entryPoint: null, fundBelow: 1n * ether, fundTo: 2n * ether, dailyCap: 10n * ether });
    const next = await refillPass(bed.refills);
    assert.equal(next?.targets.find((t) => t.name === 'rot-target-new')?.action, 'refilled');
    assert.equal(next?.treasury.status === 'configured' && next.treasury.address, rotation.newAddress);
    const [paid] = await rows<{ from_address: string; status: string }>(`SELECT from_address, status FROM refills WHERE target = 'rot-target-new'`);
    assert.deepEqual(paid, { from_address: rotation.newAddress, status: 'confirmed' });
    await assertLedgerEqualsChain();

    // Audited step by step; GET /v1/admin/refills shows the new key alone.
    const steps = (await listRotations(bed.db.pool, { kind: 'treasury_hot_key' })).reverse();
    assert.deepEqual(steps.map((s) => s.step), ['rotated', 'activated', 'drained', 'retired']);
    assert.deepEqual([steps[0]!.oldRef, steps[0]!.newRef], [old.address, rotation.newAddress]);
    assert.match(steps[0]!.actor, /^operator:/, 'the API key that asked');
    const after = (await (await admin('/v1/admin/refills')).json()) as { treasury: { address: string; draining: unknown } };
    assert.deepEqual([after.treasury.address, after.treasury.draining], [rotation.newAddress, null]);

    const verify = await coffer(['verify', '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test('a second rotation asked for at once waits for the first, then rotates again', async () => {
    const before = (await activeTreasuryKey(bed.db.pool, bed.refills.keys, 'treasury-hot'))!;
    const [a, b] = await Promise.all([
      rotateTreasuryKey(bed.refills, { actor: 'test:a', waitMs: 60_000, lockWaitMs: 60_000 }),
      rotateTreasuryKey(bed.refills, { actor: 'test:b', waitMs: 60_000, lockWaitMs: 60_000 }),
    ]);
    const [firstDone, secondDone] = a.oldAddress === before.address ? [a, b] : [b, a];
    assert.deepEqual([firstDone.status, secondDone.status, firstDone.resumed, secondDone.resumed], ['retired', 'retired', false, false]);
    assert.equal(firstDone.oldAddress, before.address);
    assert.equal(secondDone.oldAddress, firstDone.newAddress, 'the second rotated the key the first made active');
    const keys = await listTreasuryKeys(bed.db.pool);
    assert.deepEqual(keys.map((k) => [k.generation, k.status]), [[4, 'active'], [3, 'retired'], [2, 'retired'], [1, 'retired']]);
    assert.equal(keys[0]!.address, secondDone.newAddress);
    for (const key of keys.slice(1)) assert.equal(await bed.client.getBalance({ address: key.address }), 0n, `${key.keyName} drained`);
    await assertLedgerEqualsChain();
  });
});
