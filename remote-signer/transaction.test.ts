// eth_signTransaction's parameter as op-service's Go TransactionArgs marshals it (every field,
// nulls included; research aa-remote-signer-web.md §B1), and the requests it must refuse.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteSignerError } from './errors.ts';
import { decodeSerializedTransaction, describeTransaction, parseTransactionArgs } from './transaction.ts';
import { serializeTransaction } from 'viem';

const from = '0x1111111111111111111111111111111111111111';
const inbox = '0xff00000000000000000000000000000000000010';

/** A 1559 calldata transaction, field for field as the Go client's JSON has it. */
const goShaped = {
  from,
  to: inbox,
  gas: '0x5208',
  gasPrice: null,
  maxFeePerGas: '0x6fc23ac00',
  maxPriorityFeePerGas: '0x3b9aca00',
  value: '0x0',
  nonce: '0x7',
  data: null,
  input: '0x00deadbeef',
  accessList: [],
  chainId: '0xaa36a7',
};

const refusedWith = (input: unknown, message: RegExp) =>
  assert.throws(() => parseTransactionArgs(input), (error: unknown) => error instanceof RemoteSignerError && error.code === 'invalid_params' && message.test(error.message));

describe('eth_signTransaction parameters', () => {
  test('the Go client\'s 1559 shape: nulls ignored, input taken, an empty access list, chainId', () => {
    const { from: sender, transaction } = parseTransactionArgs(goShaped);
    assert.equal(sender, from);
    assert.deepEqual(transaction, {
      type: 'eip1559',
      chainId: 11_155_111,
      nonce: 7,
      gas: 21_000n,
      value: 0n,
      data: '0x00deadbeef',
      to: inbox,
      maxFeePerGas: 30_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      accessList: [],
    });
  });

  test('a blob transaction (its sidecar stripped by the client) is a 0x03 without blobs', () => {
    const hash = `0x01${'ab'.repeat(31)}`;
    const { transaction } = parseTransactionArgs({ ...goShaped, input: '0x', blobVersionedHashes: [hash], maxFeePerBlobGas: '0x3b9aca00', blobs: null });
    assert.equal(transaction.type, 'eip4844');
    const serialized = serializeTransaction(transaction);
    assert.ok(serialized.startsWith('0x03'));
    const { facts, decoded } = describeTransaction(transaction);
    assert.equal(facts.maxFeePerBlobGas, 1_000_000_000n);
    assert.deepEqual(decoded.blobVersionedHashes, [hash]);
  });

  test('gasPrice alone is a legacy EIP-155 transaction; with an access list, EIP-2930', () => {
    const legacy = { ...goShaped, gasPrice: '0x3b9aca00', maxFeePerGas: null, maxPriorityFeePerGas: null };
    assert.equal(parseTransactionArgs(legacy).transaction.type, 'legacy');
    const withList = { ...legacy, accessList: [{ address: inbox, storageKeys: [`0x${'00'.repeat(32)}`] }] };
    assert.equal(parseTransactionArgs(withList).transaction.type, 'eip2930');
  });

  test('what op-service\'s Check refuses, refused here', () => {
    refusedWith({ ...goShaped, gasPrice: '0x1' }, /both gasPrice and maxFeePerGas/);
    refusedWith({ ...goShaped, nonce: null }, /nonce is required/);
    refusedWith({ ...goShaped, chainId: null }, /chainId is required/);
    refusedWith({ ...goShaped, gas: null }, /gas is required/);
    refusedWith({ ...goShaped, data: '0x01' }, /data and input differ/);
    refusedWith({ ...goShaped, maxPriorityFeePerGas: null }, /maxFeePerGas and maxPriorityFeePerGas/);
    refusedWith({ ...goShaped, maxPriorityFeePerGas: '0x6fc23ac01' }, /below maxPriorityFeePerGas/);
    refusedWith({ ...goShaped, blobVersionedHashes: [`0x01${'ab'.repeat(31)}`] }, /maxFeePerBlobGas/);
    refusedWith({ ...goShaped, from: 'batcher' }, /^from: /);
    refusedWith('0x02', /transaction: /);
  });

  test('the audit view keeps small calldata whole and large calldata by its hash', () => {
    const small = describeTransaction(parseTransactionArgs(goShaped).transaction).decoded;
    assert.equal(small.input, '0x00deadbeef');
    assert.equal(small.selector, '0x00deadbe');
    const large = describeTransaction(parseTransactionArgs({ ...goShaped, input: `0x${'ab'.repeat(5_000)}` }).transaction).decoded;
    assert.equal(large.input, undefined);
    assert.equal(large.inputBytes, 5_000);
    assert.match(large.inputKeccak256 as string, /^0x[0-9a-f]{64}$/);
  });

  test('raw bytes that are an unsigned transaction decode as it; other bytes do not', () => {
    const { transaction } = parseTransactionArgs(goShaped);
    const decoded = decodeSerializedTransaction(serializeTransaction(transaction));
    assert.equal(decoded?.to?.toLowerCase(), inbox);
    assert.equal(decoded?.chainId, 11_155_111);
    assert.equal(decodeSerializedTransaction('0x48656c6c6f'), null);
  });
});
