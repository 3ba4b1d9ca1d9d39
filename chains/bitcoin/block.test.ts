import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Block, Transaction } from 'bitcoinjs-lib';
import { parseBlock, BitcoinBlockError } from './block.ts';

// Bitcoin's mainnet genesis block, serialized: public chain data, the one block everyone knows.
const genesisHex =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c0101000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';

/** A two-transaction block: a coinbase and a spend with two outputs, merkle root set. */
function buildBlock(): { hex: string; spend: Transaction } {
  const coinbase = new Transaction();
  coinbase.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, Uint8Array.of(0x01, 0x07));
  coinbase.addOutput(Uint8Array.of(0x51), 5_000_000_000n);
  const spend = new Transaction();
  spend.version = 2;
  spend.addInput(Buffer.from('11'.repeat(32), 'hex'), 3, 0xfffffffd);
  spend.addOutput(Buffer.from(`0014${'ab'.repeat(20)}`, 'hex'), 123_456_789n);
  spend.addOutput(Buffer.from(`0014${'cd'.repeat(20)}`, 'hex'), 2_100_000_000_000_000n);
  const block = new Block();
  block.version = 4;
  block.prevHash = Buffer.from('22'.repeat(32), 'hex');
  block.timestamp = 1_700_000_000;
  block.bits = 0x207fffff;
  block.nonce = 0;
  block.transactions = [coinbase, spend];
  block.merkleRoot = Block.calculateMerkleRoot(block.transactions);
  return { hex: block.toHex(), spend };
}

describe('parseBlock', () => {
  test("mainnet's genesis block: hash, time, the 50 BTC output", () => {
    const block = parseBlock({ hex: genesisHex, height: 0, expectedHash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f' });
    assert.equal(block.previousHash, '0'.repeat(64));
    assert.equal(block.timeSeconds, 1_231_006_505);
    assert.equal(block.transactions.length, 1);
    const [coinbase] = block.transactions;
    assert.equal(coinbase!.txid, '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
    assert.equal(coinbase!.isCoinbase, true);
    assert.deepEqual(coinbase!.inputs, [{ previousOutput: null, sequence: 0xffffffff }]);
    assert.equal(coinbase!.outputs[0]!.valueSat, 5_000_000_000n);
    assert.ok(coinbase!.outputs[0]!.scriptHex.startsWith('4104678afdb0'));
  });

  test('ids in display order, values as bigint satoshis, outpoints of the inputs', () => {
    const { hex, spend } = buildBlock();
    const block = parseBlock({ hex, height: 812 });
    assert.equal(block.height, 812);
    assert.equal(block.previousHash, '22'.repeat(32));
    const parsed = block.transactions[1]!;
    assert.equal(parsed.txid, spend.getId());
    assert.equal(parsed.isCoinbase, false);
    assert.deepEqual(parsed.inputs, [{ previousOutput: { txid: '11'.repeat(32), vout: 3 }, sequence: 0xfffffffd }]);
    assert.deepEqual(parsed.outputs, [
      { vout: 0, scriptHex: `0014${'ab'.repeat(20)}`, valueSat: 123_456_789n },
      { vout: 1, scriptHex: `0014${'cd'.repeat(20)}`, valueSat: 2_100_000_000_000_000n },
    ]);
  });

  test('refuses a different block than asked for, a tampered transaction and garbage', () => {
    const { hex } = buildBlock();
    assert.throws(() => parseBlock({ hex, height: 1, expectedHash: '00'.repeat(32) }), BitcoinBlockError);
    // Change the first byte of the last output's value (it ends the block before a 22-byte
    // script, its length byte and the 4-byte locktime): the merkle root no longer matches.
    const valueOffset = hex.length - 2 * (8 + 1 + 22 + 4);
    const tampered = hex.slice(0, valueOffset) + (hex.slice(valueOffset, valueOffset + 2) === 'ff' ? '00' : 'ff') + hex.slice(valueOffset + 2);
    assert.throws(() => parseBlock({ hex: tampered, height: 1 }), /merkle root/);
    assert.throws(() => parseBlock({ hex: 'zz', height: 1 }), BitcoinBlockError);
    assert.throws(() => parseBlock({ hex: hex.slice(0, 160), height: 1 }), BitcoinBlockError);
  });
});
