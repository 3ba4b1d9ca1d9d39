// The Bitcoin indexer on a real bcoin regtest node: deposits pending → confirmed at depth and
// credited at the replayed BTC/USD price, reversed when `invalidateblock` drops their block,
// stopped by a reorg deeper than finality and recovered by `coffer indexer rewind`, and exactly
// one entry per deposit after the indexer process is SIGKILLed mid-run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHermesReplay, type HermesReplay } from '../../devnets/index.ts';
import { creditDeposit, PriceSource, pythFeeds } from '../../credits/index.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal } from '../../credits/valuation.ts';
import { catchUp, depositsProjection, getBalances, verifyLedger } from '../../ledger/index.ts';
import { listUserDeposits } from '../../deposit-views/index.ts';
import { DeepReorgError } from '../core/index.ts';
import { eventually } from '../../testing/evm-world.ts';
import { createBitcoinWorld, type BitcoinWorld } from '../../testing/bitcoin-world.ts';

const finalityDepth = 3;
let world: BitcoinWorld;
let hermes: HermesReplay;

before(async () => {
  world = await createBitcoinWorld({ finalityDepth });
  hermes = await startHermesReplay();
});
after(async () => {
  await world?.close();
  await hermes?.stop();
});

async function entries(kind: string): Promise<{ id: bigint; idempotency_key: string; metadata: Record<string, unknown> }[]> {
  const { rows } = await world.db.pool.query<{ id: bigint; idempotency_key: string; metadata: Record<string, unknown> }>(
    'SELECT id, idempotency_key, metadata FROM journal_entries WHERE kind = $1 ORDER BY id',
    [kind],
  );
  return rows;
}

describe('Bitcoin indexer', () => {
  test('deposits go pending in their block, confirm at depth, are listed with chain "bitcoin" and credited at the replayed BTC price', async () => {
    const follower = world.follower();
    await follower.connect();
    await world.catchUp(follower);
    const ann = await world.newDepositor('ann');
    const bob = await world.newDepositor('bob');
    const paidAnn = await world.pay(ann.address, 150_000n);
    const paidBob = await world.pay(bob.address, 2_500_000n);
    await world.catchUp(follower);
    assert.equal((await entries('deposit.pending')).length, 0, 'a mempool transaction is never booked');

    await world.devnet.mine(1);
    await world.catchUp(follower);
    const pending = await entries('deposit.pending');
    assert.deepEqual(pending.map((e) => e.idempotency_key.split(':deposit@')[0]).sort(), [`bitcoin:${paidAnn.txid}:${paidAnn.vout}`, `bitcoin:${paidBob.txid}:${paidBob.vout}`].sort());
    assert.equal((await entries('deposit.confirmed')).length, 0);

    await world.devnet.mine(finalityDepth - 2);
    await world.catchUp(follower);
    assert.equal((await entries('deposit.confirmed')).length, 0, `${finalityDepth - 1} confirmations are not enough`);
    await world.devnet.mine(1);
    await world.catchUp(follower);
    const confirmed = await entries('deposit.confirmed');
    assert.equal(confirmed.length, 2, `confirmed at ${finalityDepth} confirmations, the deposit's block counted`);
    const custody = await getBalances(world.db.pool, { account: `custody:bitcoin:${ann.address}` });
    assert.deepEqual(custody.map((b) => [b.asset, b.balance]), [['BTC', 150_000n]]);

    await catchUp(world.db.pool, depositsProjection);
    const [listed] = await listUserDeposits(world.db.pool, ann.userId);
    assert.equal(listed?.chain, 'bitcoin');
    assert.equal(listed?.txHash, paidAnn.txid);
    assert.equal(listed?.status, 'confirmed');
    assert.equal(listed?.amount, 150_000n);

    // The confirmation asked for its credit in the outbox; the credit job's path prices BTC on Pyth's replay.
    const { rows: outbox } = await world.db.pool.query<{ payload: { confirmationEntryId: string } }>("SELECT payload FROM outbox WHERE name = 'credit-deposit'");
    assert.equal(outbox.length, 2);
    const prices = new PriceSource({ db: world.db.pool, hermesUrl: hermes.url, limits: { maxAgeSeconds: 60, maxConfBps: 200 } });
    const settings = { pricing: parseAssetPricing(undefined), minimumsUsd: parseChainMinimums(undefined), chocoPerUsd: parseDecimal('100', 'test'), sweepChains: new Set<string>() };
    const bobConfirmation = confirmed.find((e) => String(e.metadata.depositKey).includes(paidBob.txid))!;
    const outcome = await creditDeposit({ pool: world.db.pool, writer: world.writer, prices, settings }, bobConfirmation.id);
    assert.equal(outcome.status, 'credited', JSON.stringify(outcome, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    const { rows: observed } = await world.db.pool.query<{ feed_id: string; price: string; conf: string }>(
      'SELECT feed_id, price::text, conf::text FROM price_observations WHERE id = $1',
      [outcome.priceObservationId!.toString()],
    );
    assert.equal(observed[0]!.feed_id, pythFeeds['BTC/USD']);
    // 0.025 BTC × (price − conf) × 10^-8 USD × 100 CHOCO/USD, in 18-decimal CHOCO.
    const expected = (2_500_000n * (BigInt(observed[0]!.price) - BigInt(observed[0]!.conf)) * 100n * 10n ** 18n) / (10n ** 8n * 10n ** 8n);
    assert.equal(outcome.choco, expected);
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });

  test('invalidateblock of a pending deposit\'s block reverses it', async () => {
    const follower = world.follower();
    await follower.connect();
    await world.catchUp(follower);
    const cy = await world.newDepositor('cy');
    const paid = await world.pay(cy.address, 70_000n);
    const [blockHash] = await world.devnet.mine(1);
    await world.catchUp(follower);
    const keyBase = `bitcoin:${paid.txid}:${paid.vout}`;
    assert.ok((await entries('deposit.pending')).some((e) => e.idempotency_key === `${keyBase}:deposit@${blockHash}`));

    await world.devnet.client.invalidateBlock(blockHash!);
    await world.catchUp(follower);
    const reversals = (await entries('deposit.reversal')).filter((e) => e.idempotency_key.startsWith(keyBase));
    assert.equal(reversals.length, 1);
    assert.deepEqual(await getBalances(world.db.pool, { account: `deposits:bitcoin:${cy.address}:pending` }).then((b) => b.map((r) => r.balance)), [0n]);

    // bcoin 1.0.2 does not return a disconnected block's transactions to its mempool: the branch
    // that replaces it does not carry the deposit, and nothing of it is left in the books.
    await world.devnet.mine(finalityDepth);
    await world.catchUp(follower);
    assert.equal((await entries('deposit.confirmed')).filter((e) => e.idempotency_key.startsWith(keyBase)).length, 0);
    const custody = await getBalances(world.db.pool, { account: `custody:bitcoin:${cy.address}` });
    assert.ok(custody.every((b) => b.balance === 0n));
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });

  test('a reorg deeper than finality stops the indexer with a rewind hint; coffer indexer rewind --chain bitcoin recovers', async () => {
    const follower = world.follower();
    await follower.connect();
    await world.catchUp(follower);
    const dee = await world.newDepositor('dee');
    const paid = await world.pay(dee.address, 90_000n);
    const [blockHash] = await world.devnet.mine(finalityDepth + 1);
    await world.catchUp(follower);
    const keyBase = `bitcoin:${paid.txid}:${paid.vout}`;
    assert.ok((await entries('deposit.confirmed')).some((e) => e.idempotency_key === `${keyBase}:confirm@${blockHash}`));
    const forkHeight = (await world.devnet.client.getBlockHeader(blockHash!)).height;

    // Drop the deposit's (final) block and everything above it; the new branch grows longer.
    await world.devnet.client.invalidateBlock(blockHash!);
    await world.devnet.mine(finalityDepth + 3);
    await assert.rejects(world.catchUp(follower), (error: unknown) => error instanceof DeepReorgError && /coffer indexer rewind --chain bitcoin --to/.test(error.message));
    await assert.rejects(world.follower().connect(), /reorg deeper than the finality depth/);

    const rewind = await world.cli(['indexer', 'rewind', '--chain', 'bitcoin', '--to', String(forkHeight - 1), '--json']);
    assert.equal(rewind.code, 0, rewind.stderr);
    const report = JSON.parse(rewind.stdout) as { depositsReversed: number; confirmationsReversed: number };
    assert.equal(report.depositsReversed, 1);
    assert.equal(report.confirmationsReversed, 1);

    const recovered = world.follower();
    await recovered.connect();
    await world.catchUp(recovered);
    // The confirmed deposit of the dropped branch is reversed, custody and all; the indexer follows the new branch.
    const custody = await getBalances(world.db.pool, { account: `custody:bitcoin:${dee.address}` });
    assert.ok(custody.every((b) => b.balance === 0n));
    const { rows } = await world.db.pool.query<{ processed_height: string; stopped_reason: string | null }>("SELECT processed_height::text, stopped_reason FROM indexer_cursors WHERE indexer = 'bitcoin'");
    assert.equal(rows[0]!.stopped_reason, null);
    assert.equal(Number(rows[0]!.processed_height), await world.devnet.client.getBlockCount());
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });

  test('SIGKILLed mid-run and restarted, the indexer process leaves one pending and one confirmation per deposit', async () => {
    const users = await Promise.all(['eve', 'fay', 'gus'].map((name) => world.newDepositor(name)));
    const before = (await entries('deposit.pending')).length;
    const paid: string[] = [];
    for (let i = 0; i < 24; i += 1) {
      const { txid, vout } = await world.pay(users[i % users.length]!.address, BigInt(10_000 + i));
      paid.push(`bitcoin:${txid}:${vout}`);
      await world.devnet.mine(5);
    }
    const pendingCount = async () => (await entries('deposit.pending')).length - before;
    for (const threshold of [1, 8, 16]) {
      const run = world.startCoffer(['indexer', 'run', '--chain', 'bitcoin']);
      await eventually(`${threshold} deposits written`, async () => (await pendingCount()) >= threshold, 60_000, run.output, 20);
      run.child.kill('SIGKILL');
      await run.exited;
    }
    const final = world.startCoffer(['indexer', 'run', '--chain', 'bitcoin']);
    await world.devnet.mine(finalityDepth);
    const confirmedOf = async () => (await entries('deposit.confirmed')).filter((e) => paid.some((key) => e.idempotency_key.startsWith(`${key}:`))).length;
    await eventually('every deposit confirmed', async () => (await confirmedOf()) === paid.length, 60_000, final.output);
    await final.stop();

    const pending = (await entries('deposit.pending')).filter((e) => paid.some((key) => e.idempotency_key.startsWith(`${key}:`)));
    assert.equal(pending.length, paid.length, 'one pending entry per deposit');
    assert.equal(await confirmedOf(), paid.length, 'one confirmation per deposit');
    const { rows } = await world.db.pool.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox WHERE name = 'credit-deposit'");
    assert.equal(Number(rows[0]!.n), (await entries('deposit.confirmed')).length, 'one credit request per confirmation');
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });
});
