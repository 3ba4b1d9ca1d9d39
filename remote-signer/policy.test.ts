// The signer policy: the wallet grammar's rules judged on transactions and messages, the
// signer's own rules (chain_ids, fee_cap, messages), and the documents it refuses to store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WalletUsage } from '../wallets/index.ts';
import { judgeSigning, parseSignerPolicy, type SigningFacts } from './policy.ts';

const inbox = '0xff00000000000000000000000000000000000010';
const other = '0x00000000000000000000000000000000000000aa';
const at = new Date('2026-12-03T10:00:00Z');
const noUsage: WalletUsage = { windows: new Map(), lastSpendAt: null };

const transaction = (overrides: Partial<Extract<SigningFacts, { kind: 'transaction' }>> = {}): SigningFacts => ({
  kind: 'transaction',
  chainId: 11_155_111n,
  to: inbox,
  value: 0n,
  input: '0x00aabbccdd',
  maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
  maxFeePerBlobGas: null,
  ...overrides,
});

// What an op-batcher's key needs: one L1, one inbox, no value, a fee ceiling, a rate.
const batcherPolicy = parseSignerPolicy({
  rules: [
    { type: 'chain_ids', allow: [11_155_111] },
    { type: 'recipients', allow: [inbox] },
    { type: 'per_tx_cap', asset: 'ETH', max: '0' },
    { type: 'fee_cap', maxFeePerGas: '100000000000', maxFeePerBlobGas: '50000000000' },
    { type: 'velocity', max: 2, window: { rolling: '1h' } },
  ],
});

const codes = (facts: SigningFacts, usage = noUsage, policy = batcherPolicy) => judgeSigning(policy, facts, usage, at).map((v) => v.code);

describe('signer policy', () => {
  test('a transaction inside every rule is allowed', () => {
    assert.deepEqual(codes(transaction()), []);
  });

  test('each rule refuses with its own code, and every violation is reported', () => {
    assert.deepEqual(codes(transaction({ chainId: 1n })), ['chain_not_allowed']);
    assert.deepEqual(codes(transaction({ to: other })), ['recipient_not_allowed']);
    assert.deepEqual(codes(transaction({ value: 1n })), ['per_tx_cap_exceeded']);
    assert.deepEqual(codes(transaction({ maxFeePerGas: 100_000_000_001n })), ['fee_cap_exceeded']);
    assert.deepEqual(codes(transaction({ maxFeePerBlobGas: 50_000_000_001n })), ['fee_cap_exceeded']);
    assert.deepEqual(codes(transaction({ to: null })), ['recipient_not_allowed'], 'a contract creation has no allowed recipient');
    assert.deepEqual(codes(transaction({ chainId: 10n, to: other, value: 5n })), ['chain_not_allowed', 'recipient_not_allowed', 'per_tx_cap_exceeded']);
  });

  test('velocity counts the signatures already in the window', () => {
    const usage = (count: number) => ({ windows: new Map([['velocity-5', { amount: 0n, count }]]), lastSpendAt: at });
    assert.deepEqual(codes(transaction(), usage(1)), []);
    assert.deepEqual(codes(transaction(), usage(2)), ['velocity_exceeded']);
  });

  test('contracts and selectors judge calls; a plain transfer passes them', () => {
    const token = '0x00000000000000000000000000000000000000cc';
    const policy = parseSignerPolicy({ rules: [{ type: 'contracts', allow: [token] }, { type: 'selectors', allow: ['0xa9059cbb'] }] });
    assert.deepEqual(codes(transaction({ to: token, input: '0xa9059cbb0000' }), noUsage, policy), []);
    assert.deepEqual(codes(transaction({ to: token, input: '0x095ea7b30000' }), noUsage, policy), ['selector_not_allowed']);
    assert.deepEqual(codes(transaction({ to: other, input: '0xa9059cbb0000' }), noUsage, policy), ['contract_not_allowed']);
    assert.deepEqual(codes(transaction({ to: other, input: '0x' }), noUsage, policy), []);
  });

  test('messages are refused unless a messages rule allows their kind', () => {
    assert.deepEqual(codes({ kind: 'personal' }), ['message_signing_not_allowed']);
    const policy = parseSignerPolicy({ rules: [{ type: 'messages', allow: ['personal', 'typed_data'] }, { type: 'chain_ids', allow: [10] }, { type: 'contracts', allow: [inbox] }] });
    assert.deepEqual(codes({ kind: 'personal' }, noUsage, policy), []);
    assert.deepEqual(codes({ kind: 'raw' }, noUsage, policy), ['message_signing_not_allowed']);
    assert.deepEqual(codes({ kind: 'typed_data', chainId: 10n, verifyingContract: inbox }, noUsage, policy), []);
    assert.deepEqual(codes({ kind: 'typed_data', chainId: 1n, verifyingContract: inbox }, noUsage, policy), ['chain_not_allowed']);
    assert.deepEqual(codes({ kind: 'typed_data', chainId: null, verifyingContract: null }, noUsage, policy), ['chain_not_allowed', 'contract_not_allowed'], 'a domain without chain or contract is refused where rules name them');
  });

  test('documents the signer cannot honour are refused when set, naming the field', () => {
    const refused = (document: unknown, field: RegExp) => assert.throws(() => parseSignerPolicy(document), (error: Error & { issues?: { path: (string | number)[] }[] }) => {
      assert.ok(error.issues?.some((issue) => field.test(issue.path.join('.'))), `${JSON.stringify(document)}: ${error.message}`);
      return true;
    });
    refused({ rules: [{ type: 'recipients', allow: [inbox], severity: 'approve' }] }, /^rules\.0\.severity$/);
    refused({ rules: [{ type: 'per_tx_cap', asset: 'TUSDC', max: '1' }] }, /^rules\.0\.asset$/);
    refused({ rules: [{ type: 'tokens', allow: ['ETH'] }] }, /^rules\.0/);
    refused({ rules: [{ type: 'chain_ids', allow: [] }] }, /^rules\.0\.allow$/);
    refused({ rules: [{ type: 'fee_cap', maxFeePerGas: '1.5' }] }, /^rules\.0\.maxFeePerGas$/);
    refused({ rules: [{ type: 'messages', allow: ['personal'], id: 'a' }, { type: 'chain_ids', allow: [1], id: 'a' }] }, /^rules\.1\.id$/);
  });
});
