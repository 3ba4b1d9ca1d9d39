// Rotating a relayer's key while the official Defender client has 50 sends in flight: every
// send lands, nonces are gapless on the old key and on the new one, the old key's balance ends
// at the new key (booked), the ledger equals the chain, and the client never sees an error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relayer as DefenderRelayer } from '@openzeppelin/defender-sdk-relay-signer-client';
import { getAddress, type Address } from 'viem';
import { getBalances, verifyLedger } from '../ledger/index.ts';
import { listRotations } from '../rotations/index.ts';
import { eventually } from '../testing/evm-world.ts';
import { createRelayBed, type RelayBed } from '../testing/relay-bed.ts';
import { startRelayerKeyRotation } from './key-rotation.ts';
import { refillPass } from './refills.ts';
import { relayerAccount } from './relayers.ts';

let bed: RelayBed;
const recipient: Address = '0x00000000000000000000000000000000000b0b01';

before(async () => {
  bed = await createRelayBed();
  process.env.DEFENDER_API_URL = `${bed.url}/`;
});
after(async () => {
  await bed?.close();
});

const sdk = () => new DefenderRelayer({ apiKey: bed.apiKey, apiSecret: bed.apiSecret } as ConstructorParameters<typeof DefenderRelayer>[0]);
type Tx = { transactionId: string; nonce: number; from: string; status: string };
const rows = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => (await bed.db.pool.query<T>(sql, params)).rows;
const ledger = async (address: Address) => (await getBalances(bed.db.pool, { account: relayerAccount(address), asset: 'ETH' }))[0]?.balance ?? 0n;

describe('rotating a relayer key under load', () => {
  test('50 sends in flight through the Defender client: all land, nonces gapless on both keys, the old key drained into the new one, ledger = chain', async () => {
    const clients = [sdk(), sdk(), sdk(), sdk()];
    const oldAddress = bed.relayer.address;
    const before = await bed.client.getBalance({ address: recipient });
    let sent = 0;
    const send = (i: number) => clients[i % 4]!.sendTransaction({ to: recipient, value: `0x${(5_000 + i).toString(16)}`, speed: 'fast', gasLimit: 21_000 }) as unknown as Promise<Tx>;
    // Each wave is in flight (sent, not awaited) while the rotation moves a step.
    const waves: Promise<Tx>[] = [];
    for (; sent < 20; sent++) waves.push(send(sent));

    const started = await startRelayerKeyRotation(bed.db.pool, bed.ctx.keys, bed.relayer.id, { actor: 'operator:test' });
    assert.equal(started.oldAddress, oldAddress);
    assert.notEqual(started.newAddress, oldAddress);
    await assert.rejects(startRelayerKeyRotation(bed.db.pool, bed.ctx.keys, bed.relayer.id, { actor: 'operator:test' }), { code: 'rotation_in_progress' });
    for (; sent < 35; sent++) waves.push(send(sent));

    // The refill job funds the new key from the treasury; the monitor switches to it once booked.
    const refilled = await refillPass(bed.refills);
    assert.ok(refilled?.targets.some((t) => t.action === 'refilled'), JSON.stringify(refilled));
    await eventually('the new key active', async () => (await rows<{ address: string }>('SELECT address FROM relayers WHERE id = $1', [bed.relayer.id]))[0]!.address === started.newAddress, 30_000);
    for (; sent < 50; sent++) waves.push(send(sent));

    const results = await Promise.all(waves);
    assert.equal(new Set(results.map((t) => t.transactionId)).size, 50);
    assert.ok(results.some((t) => getAddress(t.from) === oldAddress) && results.some((t) => getAddress(t.from) === started.newAddress), 'both keys signed some of the 50');

    await eventually('the old key retired', async () => (await rows<{ status: string }>('SELECT status FROM relayer_keys WHERE address = $1', [oldAddress]))[0]?.status === 'retired', 60_000);
    await eventually('nothing in flight', async () => (await rows(`SELECT 1 FROM relayer_transactions WHERE status IN ('pending', 'sent', 'submitted', 'inmempool', 'mined')`)).length === 0, 60_000);

    // Every send landed, as the client sees it and on chain.
    for (const tx of results) assert.equal(((await clients[0]!.getTransaction(tx.transactionId)) as unknown as Tx).status, 'confirmed');
    const expected = Array.from({ length: 50 }, (_, i) => BigInt(5_000 + i)).reduce((a, b) => a + b, 0n);
    assert.equal(await bed.client.getBalance({ address: recipient }), before + expected);

    // Gapless on each key: its stored nonces are 0..n-1 and the chain has mined exactly n.
    for (const address of [oldAddress, started.newAddress]) {
      const nonces = (await rows<{ nonce: string }>('SELECT nonce FROM relayer_transactions WHERE from_address = $1 ORDER BY nonce', [address])).map((r) => Number(r.nonce));
      assert.deepEqual(nonces, Array.from({ length: nonces.length }, (_, i) => i), `nonces of ${address}`);
      assert.equal(await bed.client.getTransactionCount({ address }), nonces.length, `chain nonce of ${address}`);
    }

    // The drain moved exactly what was left: the old key holds nothing, on chain and in the books.
    const [drain] = await rows<{ value: string; status: string; settled_entry_id: string }>(`SELECT value::text, status, settled_entry_id::text FROM relayer_transactions WHERE origin = 'rotation'`);
    assert.equal(drain?.status, 'confirmed');
    assert.ok(BigInt(drain.value) > 0n);
    assert.equal(await bed.client.getBalance({ address: oldAddress }), 0n);
    assert.equal(await ledger(oldAddress), 0n);
    assert.equal(await ledger(started.newAddress), await bed.client.getBalance({ address: started.newAddress }), 'new key: ledger = chain');
    const [entry] = await rows<{ destination: string; amount: string }>(
      `SELECT d.path AS destination, p.amount::text FROM postings p JOIN accounts d ON d.id = p.destination_account_id WHERE p.entry_id = $1 AND d.path LIKE 'relayers:%'`,
      [drain.settled_entry_id],
    );
    assert.deepEqual(entry, { destination: relayerAccount(started.newAddress), amount: drain.value });
    const report = await verifyLedger(bed.db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));

    // Audited, step by step; the refill target follows the new key.
    const steps = (await listRotations(bed.db.pool, { kind: 'relayer_key', subject: bed.relayer.id })).map((r) => r.step).reverse();
    assert.deepEqual(steps, ['rotated', 'activated', 'drained', 'retired']);
    const [target] = await rows<{ address: string }>('SELECT address FROM refill_targets WHERE relayer_id = $1', [bed.relayer.id]);
    assert.equal(target?.address, started.newAddress);
    const relayer = (await clients[0]!.getRelayer()) as unknown as { address: string };
    assert.equal(relayer.address, started.newAddress);
  });
});
