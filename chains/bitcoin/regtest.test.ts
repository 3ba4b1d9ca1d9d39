// The primitives against a real node: bcoin 1.0.2 regtest from devnets/. One devnet for the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Block, Transaction, opcodes, script } from 'bitcoinjs-lib';
import { startBitcoinDevnet, type BitcoinDevnet } from '../../devnets/index.ts';
import {
  addressToScript,
  assembleConsolidation,
  broadcastTransaction,
  chooseFeeRate,
  consolidationDigests,
  isNotFound,
  p2wpkhAddress,
  p2wpkhScript,
  parseBlock,
  planConsolidation,
  rpcErrorCodes,
  BitcoinBroadcastError,
  BitcoinRpcError,
  type ParsedBlock,
  type P2wpkhUtxo,
} from './index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

let devnet: BitcoinDevnet;
before(async () => {
  devnet = await startBitcoinDevnet();
});
after(async () => {
  await devnet?.stop();
});

async function blockAt(height: number): Promise<ParsedBlock> {
  const hash = await devnet.client.getBlockHash(height);
  return parseBlock({ hex: await devnet.client.getRawBlock(hash), height, expectedHash: hash });
}

/** Every output of `block` paying one of `scripts`, keyed by txid:vout: what the indexer does. */
function outputsPaying(block: ParsedBlock, scripts: Uint8Array[]): Map<string, { scriptHex: string; valueSat: bigint }> {
  const watched = new Set(scripts.map(hex));
  const found = new Map<string, { scriptHex: string; valueSat: bigint }>();
  for (const transaction of block.transactions) {
    for (const output of transaction.outputs) {
      if (watched.has(output.scriptHex)) found.set(`${transaction.txid}:${output.vout}`, output);
    }
  }
  return found;
}

describe('P2WPKH consolidation on bcoin regtest', () => {
  const keys = [secp256k1.utils.randomSecretKey(), secp256k1.utils.randomSecretKey()];
  const publicKeys = keys.map((key) => secp256k1.getPublicKey(key, true));
  const depositScripts = publicKeys.map((publicKey) => p2wpkhScript(publicKey));
  const treasuryPublicKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
  let deposits: P2wpkhUtxo[] = [];

  test('deposits to two keys are found in the raw block by script', async () => {
    const first = await devnet.send({ script: depositScripts[0]!, valueSat: 150_000n });
    const second = await devnet.send({ script: depositScripts[1]!, valueSat: 250_000n });
    const [hash] = await devnet.mine(1);
    const height = await devnet.client.getBlockCount();
    const block = await blockAt(height);
    assert.equal(block.hash, hash);
    assert.equal(block.previousHash, await devnet.client.getBlockHash(height - 1));
    const found = outputsPaying(block, depositScripts);
    assert.equal(found.size, 2);
    assert.deepEqual(found.get(`${first.txid}:${first.vout}`), { vout: first.vout, scriptHex: hex(depositScripts[0]!), valueSat: 150_000n });
    assert.deepEqual(found.get(`${second.txid}:${second.vout}`), { vout: second.vout, scriptHex: hex(depositScripts[1]!), valueSat: 250_000n });
    deposits = [
      { ...first, valueSat: 150_000n, publicKey: publicKeys[0]! },
      { ...second, valueSat: 250_000n, publicKey: publicKeys[1]! },
    ];
  });

  test('one transaction spends both, signed per input; the node accepts and mines it', async () => {
    assert.equal(deposits.length, 2, 'needs the deposits of the previous test');
    // The treasury is configured as an address; bcoin shows `rb1…`, Core would show `bcrt1…`: one script.
    const treasuryScript = addressToScript({ address: p2wpkhAddress({ publicKey: treasuryPublicKey, network: 'bcoin-regtest' }), network: 'bcoin-regtest' });
    assert.equal(hex(treasuryScript), hex(addressToScript({ address: p2wpkhAddress({ publicKey: treasuryPublicKey, network: 'regtest' }), network: 'regtest' })));

    const feeRate = await chooseFeeRate({ rpc: devnet.client, policy: { confirmationTarget: 6, minSatKvb: 1_000n, maxSatKvb: 100_000n, fallbackSatKvb: 3_000n } });
    assert.deepEqual(feeRate, { feeRateSatKvb: 3_000n, source: 'fallback' }, 'bcoin regtest has no estimate (fee: -1)');

    const plan = planConsolidation({ utxos: deposits, sweepToScript: treasuryScript, feeRateSatKvb: feeRate.feeRateSatKvb });
    assert.equal(plan.inputs.length, 2);
    const signatures = consolidationDigests(plan).map(({ digest, publicKey }) => {
      const secretKey = keys[publicKeys.findIndex((candidate) => hex(candidate) === hex(publicKey))]!;
      return secp256k1.sign(digest, secretKey, { prehash: false, lowS: true });
    });
    const signed = assembleConsolidation({ plan, signatures });

    assert.equal(await broadcastTransaction({ rpc: devnet.client, hex: signed.hex, txid: signed.txid }), 'in-mempool');
    assert.ok((await devnet.client.getRawMempool()).includes(signed.txid));

    await devnet.mine(1);
    const height = await devnet.client.getBlockCount();
    const block = await blockAt(height);
    const transaction = block.transactions.find((candidate) => candidate.txid === signed.txid);
    assert.ok(transaction, 'the consolidation is in the next block');
    assert.equal(transaction.wtxid, signed.wtxid);
    assert.deepEqual(
      transaction.inputs.map((input) => input.previousOutput),
      deposits.map(({ txid, vout }) => ({ txid, vout })),
    );
    assert.deepEqual([...outputsPaying(block, [treasuryScript]).values()].map((output) => output.valueSat), [400_000n - plan.feeSat]);
    assert.equal(await devnet.client.getMempoolEntry(signed.txid), null);
    assert.equal(await devnet.client.getRawTransaction(signed.txid), signed.hex);
  });

  test('bcoin answers sendrawtransaction with a txid for a transaction it refuses; the broadcast helper does not count it', async () => {
    assert.equal(deposits.length, 2, 'needs the deposits spent by the previous test');
    // The same outputs, spent again, to another script: a double spend of mined coins.
    const plan = planConsolidation({ utxos: deposits, sweepToScript: p2wpkhScript(publicKeys[0]!), feeRateSatKvb: 5_000n });
    const signatures = consolidationDigests(plan).map(({ digest, publicKey }) => secp256k1.sign(digest, keys[publicKeys.findIndex((candidate) => hex(candidate) === hex(publicKey))]!, { prehash: false, lowS: true }));
    const doubleSpend = assembleConsolidation({ plan, signatures });
    assert.equal(await devnet.client.sendRawTransaction(doubleSpend.hex), doubleSpend.txid);
    await assert.rejects(broadcastTransaction({ rpc: devnet.client, hex: doubleSpend.hex, txid: doubleSpend.txid, acceptanceTimeoutMs: 500 }), BitcoinBroadcastError);
    assert.equal(await devnet.client.getMempoolEntry(doubleSpend.txid), null);
    assert.equal(await devnet.client.getRawTransaction(doubleSpend.txid), null);
  });
});

/** A block on a branch of our own, built with bitcoinjs-lib: a coinbase only, BIP34 height, regtest proof of work. */
function competingBlock(params: { previousHash: string; height: number; timeSeconds: number; script: Uint8Array }): string {
  const coinbase = new Transaction();
  coinbase.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, script.compile([script.number.encode(params.height), opcodes.OP_0]));
  coinbase.addOutput(params.script, 1_000n);
  const block = new Block();
  block.version = 0x20000000;
  block.prevHash = Buffer.from(params.previousHash, 'hex').reverse();
  block.timestamp = params.timeSeconds;
  block.bits = 0x207fffff;
  block.nonce = 0;
  block.transactions = [coinbase];
  block.merkleRoot = Block.calculateMerkleRoot(block.transactions);
  while (!block.checkProofOfWork()) block.nonce += 1;
  return block.toHex();
}

describe('reorgs', () => {
  test('invalidateblock: the hash leaves its height, and bcoin forgets the block', async () => {
    const script = p2wpkhScript(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true));
    await devnet.send({ script, valueSat: 77_000n });
    const [staleHash] = await devnet.mine(1);
    const height = await devnet.client.getBlockCount();
    assert.equal(await devnet.client.getBlockHash(height), staleHash);

    await devnet.client.invalidateBlock(staleHash!);
    assert.equal(await devnet.client.getBlockCount(), height - 1);
    const outOfRange = await devnet.client.getBlockHash(height).then(() => null, (error: unknown) => error);
    assert.ok(outOfRange instanceof BitcoinRpcError);
    assert.equal(outOfRange.rpcCode, rpcErrorCodes.invalidParameter);

    await devnet.mine(2);
    assert.notEqual(await devnet.client.getBlockHash(height), staleHash);
    assert.equal(outputsPaying(await blockAt(height), [script]).size, 0, 'the deposit is not in the new block at that height');
    // Unlike Core (which keeps it, confirmations -1), bcoin's invalidateblock resets the chain and
    // deletes the block: "Block not found", code -1.
    const gone = await devnet.client.getBlockHeader(staleHash!).then(() => null, (error: unknown) => error);
    assert.ok(isNotFound(gone));
  });

  test('a longer competing branch: bcoin keeps serving the stale block, with a positive confirmation count', async () => {
    const script = p2wpkhScript(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true));
    const deposit = await devnet.send({ script, valueSat: 88_000n });
    const [staleHash] = await devnet.mine(1);
    const height = await devnet.client.getBlockCount();
    const staleHeader = await devnet.client.getBlockHeader(staleHash!);

    let previousHash = staleHeader.previousblockhash!;
    for (let offset = 0; offset < 2; offset += 1) {
      const hex = competingBlock({ previousHash, height: height + offset, timeSeconds: staleHeader.time + 1 + offset, script: devnet.faucet.script });
      assert.equal(await devnet.rpc('submitblock', [hex]), null);
      previousHash = parseBlock({ hex, height: height + offset }).hash;
    }
    assert.equal(await devnet.client.getBlockCount(), height + 1);
    assert.notEqual(await devnet.client.getBlockHash(height), staleHash);

    // The stale block is still served by hash, with a positive count: never trust `confirmations`,
    // compare getblockhash(height) with the stored hash.
    const header = await devnet.client.getBlockHeader(staleHash!);
    assert.equal(header.height, height);
    assert.ok(header.confirmations > 0, `bcoin reports ${header.confirmations} confirmations for a stale block`);
    const stale = parseBlock({ hex: await devnet.client.getRawBlock(staleHash!), height, expectedHash: staleHash });
    assert.ok(outputsPaying(stale, [script]).has(`${deposit.txid}:${deposit.vout}`));
    // Its parent is still on the chain: linkage alone does not show the reorg; the hash at the height does.
    assert.equal(stale.previousHash, await devnet.client.getBlockHash(height - 1));
  });
});
