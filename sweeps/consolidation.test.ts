// Bitcoin end to end on a real bcoin regtest node: deposits of two users are indexed, confirmed,
// credited at the replayed BTC price and swept in ONE consolidation transaction signed input by
// input through the MPC emulator; the treasury's output on chain equals the ledger's
// `treasury:bitcoin`, the fee booked equals the transaction's fee, a dust deposit stays in
// custody with a reason, and concurrent or repeated jobs spend each UTXO once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction } from 'bitcoinjs-lib';
import { bitcoinAdapter } from '../chains/bitcoin/adapter.ts';
import { p2wpkhAddress, p2wpkhScript } from '../chains/bitcoin/index.ts';
import { startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { getBalances, verifyLedger } from '../ledger/index.ts';
import { createBitcoinWorld, type BitcoinWorld } from '../testing/bitcoin-world.ts';
import { ChainSignaturesEmulator, EmulatorSigner } from '../signer/index.ts';
import { consolidate, feeShares, requestConsolidation, type ConsolidationContext } from './consolidation.ts';
import { creditDeposit } from '../credits/credits.ts';
import { PriceSource } from '../credits/prices.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal } from '../credits/valuation.ts';

const finalityDepth = 2;
// Development roots; any fixed pair serves here.
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});
const treasuryKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
const treasury = p2wpkhAddress({ publicKey: treasuryKey, network: 'regtest' });

let world: BitcoinWorld;
let hermes: HermesReplay;
let context: ConsolidationContext;

before(async () => {
  world = await createBitcoinWorld({
    finalityDepth,
    derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } },
  });
  hermes = await startHermesReplay();
  const adapter = bitcoinAdapter({ network: 'regtest', finalityDepth, feePolicy: { confirmationTarget: 6, minSatKvb: 1_000n, maxSatKvb: 500_000n, fallbackSatKvb: 10_000n } });
  context = {
    pool: world.db.pool,
    writer: world.writer,
    signer: new EmulatorSigner(emulator),
    chains: new Map([['bitcoin', { adapter, rpcUrl: world.devnet.rpcUrl, treasury, confirmations: finalityDepth, batchWindowSeconds: 60 }]]),
    logger: silentLogger,
  };
});
after(async () => {
  await world?.close();
  await hermes?.stop();
});

const balance = async (account: string) => (await getBalances(world.db.pool, { account, asset: 'BTC' }))[0]?.balance ?? 0n;

describe('Bitcoin consolidation sweeps', () => {
  test('fee shares split the fee exactly, in proportion, remainders to the first inputs', () => {
    assert.deepEqual(feeShares(2n, [1n, 1n, 1n]), [1n, 1n, 0n]);
    assert.deepEqual(feeShares(10n, [10n, 10n, 10n]), [4n, 3n, 3n]);
    assert.deepEqual(feeShares(1_000n, [150_000n, 2_500_000n]), [57n, 943n]);
    assert.equal(feeShares(997n, [3n, 5n, 7_000n, 11n]).reduce((a, b) => a + b, 0n), 997n);
  });

  test('a sweep request asks for one consolidate job per chain and batch window', async () => {
    const at = Date.UTC(2026, 0, 1, 0, 0, 10);
    const first = await requestConsolidation(context, 'bitcoin', at);
    await requestConsolidation(context, 'bitcoin', at + 20_000);
    assert.equal(first.runAfter, new Date(Date.UTC(2026, 0, 1, 0, 1, 0)).toISOString(), 'at most the window later');
    const { rows } = await world.db.pool.query("SELECT 1 FROM outbox WHERE name = 'consolidate'");
    assert.equal(rows.length, 1);
  });

  test('two users\' deposits: pending → confirmed → credited → swept in ONE transaction; chain = ledger; dust stays in custody', async () => {
    const follower = world.follower();
    await follower.connect();
    const ann = await world.newDepositor('ann');
    const bob = await world.newDepositor('bob');
    const cy = await world.newDepositor('cy');
    await world.pay(ann.address, 150_000n);
    await world.pay(bob.address, 2_500_000n);
    await world.pay(cy.address, 300n);
    await world.devnet.mine(finalityDepth);
    await world.catchUp(follower);

    const prices = new PriceSource({ db: world.db.pool, hermesUrl: hermes.url, limits: { maxAgeSeconds: 60, maxConfBps: 200 } });
    const credits = { pool: world.db.pool, writer: world.writer, prices, settings: { pricing: parseAssetPricing(undefined), minimumsUsd: parseChainMinimums(undefined), chocoPerUsd: parseDecimal('100', 'test'), sweepChains: new Set(['bitcoin']) } };
    const { rows: confirmations } = await world.db.pool.query<{ id: bigint }>("SELECT id FROM journal_entries WHERE kind = 'deposit.confirmed' ORDER BY id");
    const outcomes = await Promise.all(confirmations.map((row) => creditDeposit(credits, row.id)));
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['below_minimum', 'credited', 'credited']);

    // Two jobs at once (a retry racing a redelivery): one transaction.
    const [first, second] = await Promise.all([consolidate(context, 'bitcoin'), consolidate(context, 'bitcoin')]);
    const submitted = [first.submitted, second.submitted].filter((s) => s !== null);
    assert.equal(submitted.length, 1, JSON.stringify([first, second]));
    const { txid, inputs } = submitted[0]!;
    assert.equal(inputs, 2, 'both users\' UTXOs in one consolidation');
    assert.equal(first.skipped + second.skipped, 1, 'the 300-sat deposit is uneconomic');
    assert.ok(await world.devnet.client.getMempoolEntry(txid), 'the node holds the transaction');

    await world.devnet.mine(finalityDepth);
    const done = await consolidate(context, 'bitcoin');
    assert.deepEqual(done.confirmed, [txid]);
    assert.equal(done.submitted, null, 'nothing left to sweep');
    assert.deepEqual((await consolidate(context, 'bitcoin')).confirmed, [], 'booked once');

    // The chain: 2 inputs, RBF signalled, one output to the treasury.
    const transaction = Transaction.fromHex((await world.devnet.client.getRawTransaction(txid))!);
    assert.equal(transaction.ins.length, 2);
    assert.ok(transaction.ins.every((input) => input.sequence === 0xfffffffd));
    assert.equal(transaction.outs.length, 1);
    assert.deepEqual(Buffer.from(transaction.outs[0]!.script), Buffer.from(p2wpkhScript(treasuryKey)));
    const feeOnChain = 150_000n + 2_500_000n - transaction.outs[0]!.value;

    assert.equal(await balance('treasury:bitcoin'), transaction.outs[0]!.value, 'the treasury UTXO equals treasury:bitcoin');
    assert.equal(await balance('fees:bitcoin'), feeOnChain, 'the fee booked equals the transaction fee');
    assert.equal(await balance(`custody:bitcoin:${ann.address}`), 0n);
    assert.equal(await balance(`custody:bitcoin:${bob.address}`), 0n);
    assert.equal(await balance(`custody:bitcoin:${cy.address}`), 300n, 'dust stays in custody');
    const { rows: skipped } = await world.db.pool.query<{ status: string; reason: string }>('SELECT status, reason FROM sweeps WHERE address = $1', [cy.address]);
    assert.equal(skipped[0]?.status, 'skipped');
    assert.match(skipped[0].reason, /kept in custody/);
    const { rows: entries } = await world.db.pool.query<{ n: string }>("SELECT count(*)::text AS n FROM journal_entries WHERE kind = 'sweep.submitted'");
    assert.equal(entries[0]!.n, '1', 'one sweep per UTXO in the books');
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });
});
