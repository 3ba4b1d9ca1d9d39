import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFeeRatePolicy, btcPerKvbToSatKvb, chooseFeeRate, estimateFromResult, satVbToSatKvb, BitcoinFeeError } from './fee.ts';
import { BitcoinRpcError, BitcoinRpcTransportError, type BitcoinRpc, type EstimateSmartFeeResult } from './rpc.ts';

describe('fee rate units', () => {
  test('sat/vB settings to sat/kvB, exactly', () => {
    assert.equal(satVbToSatKvb('2'), 2_000n);
    assert.equal(satVbToSatKvb('1.5'), 1_500n);
    assert.equal(satVbToSatKvb('0.1'), 100n);
    assert.equal(satVbToSatKvb(' 250.125 '), 250_125n);
    for (const bad of ['', '-1', '1e3', '1.2345', 'two']) assert.throws(() => satVbToSatKvb(bad), BitcoinFeeError, bad);
  });

  test('BTC/kvB from the RPC to sat/kvB without float error', () => {
    // 0.00001 BTC/kvB = 1 sat/vB; 0.00012345 has no exact double, toFixed(8) recovers it.
    assert.equal(btcPerKvbToSatKvb(0.00001), 1_000n);
    assert.equal(btcPerKvbToSatKvb(0.00012345), 12_345n);
    assert.equal(btcPerKvbToSatKvb(0.1), 10_000_000n);
    assert.throws(() => btcPerKvbToSatKvb(-1), BitcoinFeeError);
    assert.throws(() => btcPerKvbToSatKvb(Number.NaN), BitcoinFeeError);
  });

  test("both dialects' answers, and the ones that mean no estimate", () => {
    assert.equal(estimateFromResult({ feerate: 0.00002, blocks: 6 }), 2_000n);
    assert.equal(estimateFromResult({ fee: 0.00003, blocks: 6 }), 3_000n);
    assert.equal(estimateFromResult({ fee: -1, blocks: 6 }), null);
    assert.equal(estimateFromResult({ errors: ['Insufficient data or no feerate found'], blocks: 0 }), null);
  });

  test('a policy must make sense', () => {
    const policy = { confirmationTarget: 6, minSatKvb: 1_000n, maxSatKvb: 100_000n, fallbackSatKvb: 2_000n };
    assert.doesNotThrow(() => assertFeeRatePolicy(policy));
    assert.throws(() => assertFeeRatePolicy({ ...policy, confirmationTarget: 0 }), /confirmation target/);
    assert.throws(() => assertFeeRatePolicy({ ...policy, confirmationTarget: 1_009 }), /confirmation target/);
    assert.throws(() => assertFeeRatePolicy({ ...policy, maxSatKvb: 999n }), /cap is below the floor/);
    assert.throws(() => assertFeeRatePolicy({ ...policy, minSatKvb: 0n }), /floor/);
  });
});

describe('chooseFeeRate', () => {
  const policy = { confirmationTarget: 6, minSatKvb: 1_000n, maxSatKvb: 50_000n, fallbackSatKvb: 2_000n };
  // A Bitcoin Core answering with an estimate cannot run here (no bitcoind; bcoin's regtest never
  // has one), so this double stands in for `estimatesmartfee` alone, in Core's answer shapes.
  const coreEstimateDouble = (answer: EstimateSmartFeeResult | Error) =>
    ({ estimateSmartFee: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)) }) as unknown as BitcoinRpc;

  test('an estimate within bounds is used as is; outside, it is clamped and says so', async () => {
    assert.deepEqual(await chooseFeeRate({ rpc: coreEstimateDouble({ feerate: 0.00012345, blocks: 6 }), policy }), { feeRateSatKvb: 12_345n, source: 'estimate' });
    assert.deepEqual(await chooseFeeRate({ rpc: coreEstimateDouble({ feerate: 0.001, blocks: 6 }), policy }), { feeRateSatKvb: 50_000n, source: 'estimate', clampedFrom: 100_000n });
    assert.deepEqual(await chooseFeeRate({ rpc: coreEstimateDouble({ feerate: 0.000001, blocks: 6 }), policy }), { feeRateSatKvb: 1_000n, source: 'estimate', clampedFrom: 100n });
  });

  test('no estimate or an RPC refusal falls back; a dead node is an error', async () => {
    assert.deepEqual(await chooseFeeRate({ rpc: coreEstimateDouble({ errors: ['Insufficient data'], blocks: 0 }), policy }), { feeRateSatKvb: 2_000n, source: 'fallback' });
    const refusing = coreEstimateDouble(new BitcoinRpcError('estimatesmartfee', -1, 'Fee estimation not available.'));
    assert.equal((await chooseFeeRate({ rpc: refusing, policy })).source, 'fallback');
    const dead = coreEstimateDouble(new BitcoinRpcTransportError('bitcoin_unreachable', 'estimatesmartfee', 'the node did not answer'));
    await assert.rejects(chooseFeeRate({ rpc: dead, policy }), BitcoinRpcTransportError);
  });
});
