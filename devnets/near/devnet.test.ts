import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Account, JsonRpcProvider, KeyPair, KeyPairSigner, actions, createTransaction, baseDecode, nearToYocto } from 'near-api-js';
import { InvalidNonceError, InvalidSignatureError, AccountDoesNotExistError } from 'near-api-js/rpc-errors';
import { startNearDevnet, finalityLagBlocks, type NearDevnet } from './index.ts';

type Outcome = { status: unknown; transaction_outcome: { id: string; block_hash: string; outcome: { receipt_ids: string[]; tokens_burnt: string } }; receipts_outcome: { id: string; block_hash: string; outcome: { executor_id: string; status: unknown; tokens_burnt: string } }[]; final_execution_status: string };

async function rpc<T>(url: string, method: string, params: unknown): Promise<{ result?: T; error?: { name: string; cause: { name: string; info: Record<string, unknown> }; data: unknown } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await response.json()) as never;
}

describe('the NEAR devnet, driven by near-api-js 7', () => {
  let devnet: NearDevnet;
  let provider: JsonRpcProvider;
  let faucet: Account;
  const aliceKey = KeyPair.fromRandom('ed25519');

  before(async () => {
    devnet = await startNearDevnet({ blocks: 'on-demand' });
    provider = new JsonRpcProvider({ url: devnet.rpcUrl });
    faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  });
  after(() => devnet.stop());

  test('describe() is the first line of `coffer devnet near --json`', () => {
    const description = devnet.describe();
    assert.equal(description.chain, 'near');
    assert.match(description.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(devnet.port, 3030);
    assert.equal(description.faucet.accountId, 'devnet');
    assert.equal(KeyPair.fromString(description.faucet.privateKey).getPublicKey().toString().startsWith('ed25519:'), true);
  });

  test('creates a sub-account of the faucet with a key and a balance, and views both', async () => {
    const outcome = (await faucet.createAccount({ newAccountId: 'alice.devnet', publicKey: aliceKey.getPublicKey(), nearToTransfer: nearToYocto('5') })) as unknown as Outcome;
    assert.deepEqual(outcome.status, { SuccessValue: '' });
    assert.equal(outcome.final_execution_status, 'FINAL');
    const view = await provider.viewAccount({ accountId: 'alice.devnet', blockQuery: { finality: 'final' } });
    assert.equal(view.amount, nearToYocto('5'));
    assert.equal(view.code_hash, '11111111111111111111111111111111');
    assert.equal(view.storage_usage, 182);
    const key = await provider.viewAccessKey({ accountId: 'alice.devnet', publicKey: aliceKey.getPublicKey() });
    assert.equal(key.permission, 'FullAccess');
    assert.equal(key.nonce > 0n, true, 'a new key starts at (height − 1) × 10^6, as in nearcore');
    const list = await provider.viewAccessKeyList({ accountId: 'alice.devnet' });
    assert.deepEqual(list.keys.map((entry) => entry.public_key), [aliceKey.getPublicKey().toString()]);
    await assert.rejects(provider.viewAccount({ accountId: 'nobody.devnet' }), AccountDoesNotExistError);
  });

  test('a transfer moves the amount, charges gas at gas_price, and shows its receipt in a chunk', async () => {
    const alice = new Account('alice.devnet', provider, aliceKey.toString());
    const before = (await provider.viewAccount({ accountId: 'alice.devnet' })).amount;
    const bobKey = KeyPair.fromRandom('ed25519');
    const bobId = Buffer.from(bobKey.getPublicKey().data).toString('hex');
    const outcome = (await alice.transfer({ receiverId: bobId, amount: nearToYocto('1.5') })) as unknown as Outcome;
    assert.deepEqual(outcome.status, { SuccessValue: '' });

    const { gas_price: gasPrice } = await provider.viewGasPrice();
    assert.equal(gasPrice, '100000000');
    const burnt = BigInt(outcome.transaction_outcome.outcome.tokens_burnt) + outcome.receipts_outcome.reduce((sum, receipt) => sum + BigInt(receipt.outcome.tokens_burnt), 0n);
    assert.equal(burnt, 446_365_125_000n * 100_000_000n, 'a transfer burns its send and execution fees, nothing is refunded');
    const after = (await provider.viewAccount({ accountId: 'alice.devnet' })).amount;
    assert.equal(before - after, nearToYocto('1.5') + burnt);
    // The implicit account was created by the transfer, with its own key.
    assert.equal((await provider.viewAccount({ accountId: bobId })).amount, nearToYocto('1.5'));
    assert.equal((await provider.viewAccessKey({ accountId: bobId, publicKey: bobKey.getPublicKey() })).permission, 'FullAccess');

    const [receiptId] = outcome.transaction_outcome.outcome.receipt_ids;
    const receiptOutcome = outcome.receipts_outcome.find((receipt) => receipt.id === receiptId)!;
    assert.equal(receiptOutcome.outcome.executor_id, bobId);
    const block = await provider.viewBlock({ blockId: receiptOutcome.block_hash });
    const chunk = (await provider.viewChunk(block.chunks[0]!.chunk_hash)) as unknown as { receipts: { receipt_id: string; predecessor_id: string; receiver_id: string; receipt: { Action: { actions: unknown[] } } }[] };
    const receipt = chunk.receipts.find((candidate) => candidate.receipt_id === receiptId)!;
    assert.equal(receipt.predecessor_id, 'alice.devnet');
    assert.equal(receipt.receiver_id, bobId);
    assert.deepEqual(receipt.receipt.Action.actions, [{ Transfer: { deposit: nearToYocto('1.5').toString() } }]);
    const txBlock = await provider.viewBlock({ blockId: outcome.transaction_outcome.block_hash });
    const txChunk = (await provider.viewChunk([txBlock.header.height, 0])) as unknown as { transactions: { hash: string }[] };
    assert.deepEqual(txChunk.transactions.map((tx) => tx.hash), [outcome.transaction_outcome.id]);

    const status = (await provider.viewTransactionStatusWithReceipts({ txHash: outcome.transaction_outcome.id, accountId: 'alice.devnet', waitUntil: 'FINAL' })) as unknown as Outcome & { receipts: { receipt_id: string }[] };
    assert.equal(status.final_execution_status, 'FINAL');
    assert.deepEqual(status.receipts.map((entry) => entry.receipt_id), [receiptId]);

    const changes = (await provider.accountChanges([bobId, 'alice.devnet'], { blockId: block.header.height })) as unknown as { changes: { cause: { type: string; receipt_hash?: string }; change: { account_id: string; amount: string } }[] };
    assert.deepEqual(changes.changes.map((change) => [change.change.account_id, change.cause.type, change.cause.receipt_hash, change.change.amount]), [[bobId, 'receipt_processing', receiptId, nearToYocto('1.5').toString()]]);
  });

  test('final trails optimistic by two blocks, with linked hashes', async () => {
    devnet.produceBlocks(3);
    const optimistic = await provider.viewBlock({ finality: 'optimistic' });
    const final = await provider.viewBlock({ finality: 'final' });
    assert.equal(optimistic.header.height - final.header.height, finalityLagBlocks);
    assert.equal(optimistic.header.last_final_block, final.header.hash);
    const parent = await provider.viewBlock({ blockId: optimistic.header.height - 1 });
    assert.equal(optimistic.header.prev_hash, parent.header.hash);
    const status = await provider.viewNodeStatus();
    assert.equal(status.sync_info.latest_block_hash, optimistic.header.hash);
  });

  test('a stale nonce is refused with InvalidNonce, a bad signature with InvalidSignature', async () => {
    const key = await provider.viewAccessKey({ accountId: 'alice.devnet', publicKey: aliceKey.getPublicKey() });
    const block = await provider.viewBlock({ finality: 'final' });
    const stale = createTransaction('alice.devnet', aliceKey.getPublicKey(), 'devnet', key.nonce, [actions.transfer(1n)], baseDecode(block.header.hash));
    const { signedTransaction: staleSigned } = await new KeyPairSigner(aliceKey).signTransaction(stale);
    await assert.rejects(provider.sendTransactionUntil(staleSigned, 'FINAL'), (error: unknown) => {
      assert.ok(error instanceof InvalidNonceError);
      assert.equal(BigInt(error.accessKeyNonce), key.nonce);
      assert.equal(BigInt(error.transactionNonce), key.nonce);
      return true;
    });

    const fresh = createTransaction('alice.devnet', aliceKey.getPublicKey(), 'devnet', key.nonce + 1n, [actions.transfer(1n)], baseDecode(block.header.hash));
    const { signedTransaction } = await new KeyPairSigner(aliceKey).signTransaction(fresh);
    signedTransaction.signature.data[0]! ^= 0xff;
    await assert.rejects(provider.sendTransactionUntil(signedTransaction, 'FINAL'), InvalidSignatureError);

    const raw = await rpc(devnet.rpcUrl, 'send_tx', { signed_tx_base64: Buffer.from(signedTransaction.encode()).toString('base64'), wait_until: 'FINAL' });
    assert.equal(raw.error?.name, 'HANDLER_ERROR');
    assert.equal(raw.error?.cause.name, 'INVALID_TRANSACTION');
    assert.deepEqual(raw.error?.data, { TxExecutionError: { InvalidTxError: 'InvalidSignature' } });
  });

  test('broadcast_tx_async returns the hash at once; tx and EXPERIMENTAL_receipt read the result', async () => {
    const key = await provider.viewAccessKey({ accountId: 'alice.devnet', publicKey: aliceKey.getPublicKey() });
    const block = await provider.viewBlock({ finality: 'final' });
    const tx = createTransaction('alice.devnet', aliceKey.getPublicKey(), 'devnet', key.nonce + 1n, [actions.transfer(7n)], baseDecode(block.header.hash));
    const { signedTransaction } = await new KeyPairSigner(aliceKey).signTransaction(tx);
    const sent = await rpc<string>(devnet.rpcUrl, 'broadcast_tx_async', [Buffer.from(signedTransaction.encode()).toString('base64')]);
    assert.equal(typeof sent.result, 'string');
    const status = (await provider.viewTransactionStatus({ txHash: sent.result!, accountId: 'alice.devnet', waitUntil: 'FINAL' })) as unknown as Outcome;
    assert.deepEqual(status.status, { SuccessValue: '' });
    const receiptId = status.transaction_outcome.outcome.receipt_ids[0]!;
    const receipt = (await provider.viewTransactionReceipt(receiptId)) as unknown as { receiver_id: string; receipt: { Action: { actions: unknown[] } } };
    assert.equal(receipt.receiver_id, 'devnet');
    assert.deepEqual(receipt.receipt.Action.actions, [{ Transfer: { deposit: '7' } }]);
  });

  test('unknown accounts, methods and blocks answer with nearcore error names', async () => {
    const account = await rpc(devnet.rpcUrl, 'query', { request_type: 'view_account', finality: 'final', account_id: 'ghost.devnet' });
    assert.equal(account.error?.cause.name, 'UNKNOWN_ACCOUNT');
    assert.equal(account.error?.cause.info.requested_account_id, 'ghost.devnet');
    const method = await rpc(devnet.rpcUrl, 'no_such_method', {});
    assert.equal(method.error?.cause.name, 'METHOD_NOT_FOUND');
    const block = await rpc(devnet.rpcUrl, 'block', { block_id: 999_999 });
    assert.equal(block.error?.cause.name, 'UNKNOWN_BLOCK');
    const tx = await rpc(devnet.rpcUrl, 'tx', { tx_hash: '11111111111111111111111111111111', sender_account_id: 'devnet' });
    assert.equal(tx.error?.cause.name, 'UNKNOWN_TRANSACTION');
  });
});

describe('the NEAR devnet on a timer', () => {
  test('produces blocks by itself and serves send_tx waits', async () => {
    const devnet = await startNearDevnet({ blocks: { intervalMs: 50 } });
    try {
      const provider = new JsonRpcProvider({ url: devnet.rpcUrl });
      const faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
      const outcome = (await faucet.signAndSendTransaction({ receiverId: 'carol.devnet', actions: [actions.createAccount(), actions.transfer(nearToYocto('1'))], waitUntil: 'FINAL' })) as unknown as Outcome;
      assert.equal(outcome.final_execution_status, 'FINAL');
      const final = await provider.viewBlock({ finality: 'final' });
      for (const receipt of outcome.receipts_outcome) {
        const executed = await provider.viewBlock({ blockId: receipt.block_hash });
        assert.ok(executed.header.height <= final.header.height, 'FINAL means every receipt ran in a final block');
      }
      assert.equal((await provider.viewAccount({ accountId: 'carol.devnet', blockQuery: { finality: 'final' } })).amount, nearToYocto('1'));
    } finally {
      await devnet.stop();
    }
  });
});
