import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { hash160, p2wpkhScript } from './address.ts';
import {
  assembleConsolidation,
  bip143Digest,
  consolidationDigests,
  estimateP2wpkhVsize,
  feeForVsize,
  planConsolidation,
  rbfSequence,
  BitcoinTransactionError,
  type ConsolidationPlan,
  type P2wpkhUtxo,
} from './consolidation.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const keys = Array.from({ length: 4 }, () => secp256k1.utils.randomSecretKey());
const publicKeyOf = (secretKey: Uint8Array) => secp256k1.getPublicKey(secretKey, true);
const treasury = p2wpkhScript(publicKeyOf(secp256k1.utils.randomSecretKey()));
const txid = (n: number) => n.toString(16).padStart(64, '0');
const utxo = (n: number, valueSat: bigint, key = keys[n % keys.length]!): P2wpkhUtxo => ({ txid: txid(n + 1), vout: n % 3, valueSat, publicKey: publicKeyOf(key) });

/** Signs like the MPC signer: the raw 32-byte digest, low-s, r‖s. */
function sign(plan: ConsolidationPlan, secretKeyOf: (publicKey: Uint8Array) => Uint8Array, format: 'compact' | 'der' = 'compact'): Uint8Array[] {
  return consolidationDigests(plan).map(({ digest, publicKey }) => secp256k1.sign(digest, secretKeyOf(publicKey), { prehash: false, lowS: true, format }));
}
const secretKeyOf = (publicKey: Uint8Array) => keys.find((key) => hex(publicKeyOf(key)) === hex(publicKey))!;

describe('BIP143 digest', () => {
  test("BIP143's native P2WPKH example, input 1", () => {
    const transaction = Transaction.fromHex(
      '0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000',
    );
    const publicKey = Buffer.from('025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357', 'hex');
    assert.equal(hex(hash160(publicKey)), '1d0f172a0ecb48aee1be1f2687d2963ae33f71a1');
    const digest = bip143Digest({ transaction, inputIndex: 1, keyHash: hash160(publicKey), valueSat: 600_000_000n });
    assert.equal(hex(digest), 'c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670');
  });
});

describe('planConsolidation', () => {
  test('all inputs to one output, fee from the rate on the size estimate, RBF signalled', () => {
    const utxos = [utxo(0, 50_000n), utxo(1, 70_000n), utxo(2, 1_000_000n)];
    const plan = planConsolidation({ utxos, sweepToScript: treasury, feeRateSatKvb: 2_500n });
    assert.equal(plan.inputs.length, 3);
    assert.equal(plan.vsizeEstimate, estimateP2wpkhVsize(3, [treasury]));
    assert.equal(plan.feeSat, feeForVsize(plan.vsizeEstimate, 2_500n));
    assert.equal(plan.outputs.length, 1);
    assert.equal(plan.outputs[0]!.valueSat, 1_120_000n - plan.feeSat);
    const unsigned = Transaction.fromHex(plan.unsignedHex);
    assert.equal(unsigned.version, 2);
    assert.deepEqual(unsigned.ins.map((input) => input.sequence), [rbfSequence, rbfSequence, rbfSequence]);
    assert.deepEqual(unsigned.ins.map((input) => Buffer.from(input.hash).reverse().toString('hex')), utxos.map((u) => u.txid));
  });

  test('a UTXO that costs at least its value to spend is reported uneconomic and left out', () => {
    // 68 vB per input at 1 sat/vB: 68 sat.
    const plan = planConsolidation({ utxos: [utxo(0, 67n), utxo(1, 68n), utxo(2, 69n), utxo(3, 100_000n)], sweepToScript: treasury, feeRateSatKvb: 1_000n });
    assert.deepEqual(plan.uneconomic.map(({ utxo: u, inputFeeSat }) => [u.valueSat, inputFeeSat]), [[67n, 68n], [68n, 68n]]);
    assert.deepEqual(plan.inputs.map((u) => u.valueSat), [69n, 100_000n]);
    // "Wait for a lower rate" has its own code: the adapter answers not_worth_it for it, and for nothing else.
    assert.throws(() => planConsolidation({ utxos: [utxo(0, 680n)], sweepToScript: treasury, feeRateSatKvb: 10_000n }), { name: 'BitcoinTransactionError', code: 'uneconomic', message: /no UTXO is worth spending/ });
  });

  test('the input count is bounded; the rest is deferred', () => {
    const utxos = Array.from({ length: 5 }, (_, n) => utxo(n, 10_000n));
    const plan = planConsolidation({ utxos, sweepToScript: treasury, feeRateSatKvb: 1_000n, inputsMax: 2 });
    assert.deepEqual(plan.inputs.map((u) => u.txid), [txid(1), txid(2)]);
    assert.deepEqual(plan.deferred.map((u) => u.txid), [txid(3), txid(4), txid(5)]);
    assert.throws(() => planConsolidation({ utxos, sweepToScript: treasury, feeRateSatKvb: 1_000n, inputsMax: 10_000 }), BitcoinTransactionError);
    assert.throws(() => planConsolidation({ utxos: [utxos[0]!, utxos[0]!], sweepToScript: treasury, feeRateSatKvb: 1_000n }), { code: 'invalid_bitcoin_transaction', message: /listed twice/ });
  });

  test('dust: a swept output under 294 sat is refused; change under it goes to the fee', () => {
    // One input at 1 sat/vB: 110 vB, so 403 sat leaves 293.
    assert.throws(() => planConsolidation({ utxos: [utxo(0, 403n)], sweepToScript: treasury, feeRateSatKvb: 1_000n }), /293 sat, below the 294-sat dust limit/);
    assert.equal(planConsolidation({ utxos: [utxo(0, 404n)], sweepToScript: treasury, feeRateSatKvb: 1_000n }).outputs[0]!.valueSat, 294n);
    const payee = p2wpkhScript(publicKeyOf(keys[3]!));
    const withChange = planConsolidation({ utxos: [utxo(0, 100_000n)], sweepToScript: treasury, payment: { script: payee, valueSat: 50_000n }, feeRateSatKvb: 1_000n });
    assert.deepEqual(withChange.outputs.map((o) => [hex(o.script), o.valueSat]), [[hex(payee), 50_000n], [hex(treasury), 100_000n - 50_000n - withChange.feeSat]]);
    const noChange = planConsolidation({ utxos: [utxo(0, 50_300n)], sweepToScript: treasury, payment: { script: payee, valueSat: 50_000n }, feeRateSatKvb: 1_000n });
    assert.equal(noChange.outputs.length, 1);
    assert.equal(noChange.feeSat, 300n);
    assert.throws(() => planConsolidation({ utxos: [utxo(0, 50_050n)], sweepToScript: treasury, payment: { script: payee, valueSat: 50_000n }, feeRateSatKvb: 1_000n }), /do not cover/);
    assert.throws(() => planConsolidation({ utxos: [utxo(0, 50_000n)], sweepToScript: treasury, payment: { script: payee, valueSat: 293n }, feeRateSatKvb: 1_000n }), /dust/);
  });

  test('refuses a UTXO listed twice', () => {
    assert.throws(() => planConsolidation({ utxos: [utxo(0, 10_000n), utxo(0, 10_000n)], sweepToScript: treasury, feeRateSatKvb: 1_000n }), /listed twice/);
  });
});

describe('assembleConsolidation', () => {
  test('witnesses from r‖s or DER signatures; the same transaction either way', () => {
    const plan = planConsolidation({ utxos: [utxo(0, 50_000n), utxo(1, 60_000n)], sweepToScript: treasury, feeRateSatKvb: 1_000n });
    const fromCompact = assembleConsolidation({ plan, signatures: sign(plan, secretKeyOf) });
    const fromDer = assembleConsolidation({ plan, signatures: sign(plan, secretKeyOf, 'der') });
    assert.equal(fromCompact.hex, fromDer.hex);
    const signed = Transaction.fromHex(fromCompact.hex);
    assert.equal(signed.getId(), fromCompact.txid);
    assert.notEqual(fromCompact.wtxid, fromCompact.txid);
    for (const [index, input] of signed.ins.entries()) {
      const [signature, publicKey] = input.witness as [Uint8Array, Uint8Array];
      assert.equal(signature.at(-1), Transaction.SIGHASH_ALL);
      assert.equal(hex(publicKey), hex(plan.inputs[index]!.publicKey));
    }
    assert.ok(fromCompact.vsize <= plan.vsizeEstimate);
    // Stripping witnesses must not change the txid: the signatures live only in the witness.
    assert.equal(Transaction.fromHex(plan.unsignedHex).getId(), fromCompact.txid);
  });

  test('refuses high-s, a signature by the wrong key, and a missing signature', () => {
    const plan = planConsolidation({ utxos: [utxo(0, 50_000n), utxo(1, 60_000n)], sweepToScript: treasury, feeRateSatKvb: 1_000n });
    const signatures = sign(plan, secretKeyOf);
    const low = secp256k1.Signature.fromBytes(signatures[0]!, 'compact');
    const high = new secp256k1.Signature(low.r, secp256k1.Point.Fn.ORDER - low.s).toBytes('compact');
    assert.throws(() => assembleConsolidation({ plan, signatures: [high, signatures[1]!] }), /not low-s/);
    assert.throws(() => assembleConsolidation({ plan, signatures: [signatures[1]!, signatures[0]!] }), /does not verify/);
    assert.throws(() => assembleConsolidation({ plan, signatures: [signatures[0]!] }), /need 2 signatures/);
    assert.throws(() => assembleConsolidation({ plan, signatures: [new Uint8Array(10), signatures[1]!] }), /neither 64 bytes/);
  });

  test('for any input count and rate, the signed size stays within the estimate and the fee meets the rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.bigInt({ min: 1_000n, max: 500_000n }), (inputCount, feeRateSatKvb) => {
        const utxos = Array.from({ length: inputCount }, (_, n) => utxo(n, 10_000_000n));
        const plan = planConsolidation({ utxos, sweepToScript: treasury, feeRateSatKvb });
        const signed = assembleConsolidation({ plan, signatures: sign(plan, secretKeyOf) });
        assert.ok(signed.vsize <= plan.vsizeEstimate && plan.vsizeEstimate - signed.vsize <= inputCount);
        assert.ok(signed.feeSat * 1000n >= BigInt(signed.vsize) * feeRateSatKvb);
      }),
      { numRuns: 12 },
    );
  });
});
