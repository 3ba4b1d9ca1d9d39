import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFunctionData, parseAbi, type Address } from 'viem';
import { evaluateSponsorPolicy, parseSponsorPolicy, usageQueries, type SponsorFacts, type Usage } from './policy.ts';
import { accountCalls, type UserOperation } from './user-operation.ts';

const sender: Address = '0x1111111111111111111111111111111111111111';
const target: Address = '0x2222222222222222222222222222222222222222';
const accountAbi = parseAbi(['function execute(address target, uint256 value, bytes data)', 'function executeBatch((address target, uint256 value, bytes data)[] calls)']);
const transfer = '0xa9059cbb000000000000000000000000000000000000000000000000000000000000dead0000000000000000000000000000000000000000000000000000000000000001';

const op = (overrides: Partial<UserOperation> = {}): UserOperation => ({
  sender,
  nonce: 0n,
  initCode: '0x',
  callData: encodeFunctionData({ abi: accountAbi, functionName: 'execute', args: [target, 0n, transfer] }),
  callGasLimit: 50_000n,
  verificationGasLimit: 100_000n,
  preVerificationGas: 50_000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000n,
  ...overrides,
});
const facts = (o: UserOperation = op(), at = new Date('2026-06-01T12:00:00Z')): SponsorFacts => ({ op: o, calls: accountCalls(o.callData), maxCostWei: 10n ** 15n, at });
const none = new Map<string, Usage>();

describe('sponsorship policy', () => {
  test('an empty policy sponsors everything; each rule type refuses with its own code', () => {
    assert.deepEqual(evaluateSponsorPolicy(parseSponsorPolicy({ rules: [] }), facts(), none), { outcome: 'sponsor' });
    const cases: [unknown, string][] = [
      [{ type: 'senders', allow: [target] }, 'sender_not_allowed'],
      [{ type: 'targets', allow: [sender] }, 'target_not_allowed'],
      [{ type: 'selectors', allow: ['0x095ea7b3'] }, 'selector_not_allowed'],
      [{ type: 'active', from: '2026-07-01T00:00:00Z' }, 'policy_not_started'],
      [{ type: 'active', to: '2026-05-01T00:00:00Z' }, 'policy_ended'],
      [{ type: 'gas', callGasLimit: '49999' }, 'gas_limit_exceeded'],
      [{ type: 'gas', maxFeePerGas: '1000000000' }, 'fee_cap_exceeded'],
      [{ type: 'per_operation', maxWei: '999999999999999' }, 'operation_wei_exceeded'],
    ];
    for (const [rule, code] of cases) {
      const verdict = evaluateSponsorPolicy(parseSponsorPolicy({ rules: [rule] }), facts(), none);
      assert.equal(verdict.outcome === 'refuse' && verdict.code, code, JSON.stringify(rule));
    }
    const allowing = parseSponsorPolicy({ rules: [{ type: 'senders', allow: [sender.toUpperCase().replace('0X', '0x')] }, { type: 'targets', allow: [target] }, { type: 'selectors', allow: ['0xa9059cbb'] }, { type: 'gas', callGasLimit: '50000' }] });
    assert.deepEqual(evaluateSponsorPolicy(allowing, facts(), none), { outcome: 'sponsor' });
  });

  test('caps count the window: maxCount and maxWei, per sender and global, each with its reason', () => {
    const policy = parseSponsorPolicy({ rules: [{ type: 'per_sender', maxCount: 2, window: { rolling: '24h' } }, { type: 'global', maxWei: '3000000000000000', window: { calendar: 'day' } }] });
    const at = new Date('2026-06-01T12:00:00Z');
    const queries = usageQueries(policy, at);
    assert.deepEqual(queries.map((q) => [q.scope, q.since?.toISOString()]), [['sender', '2026-05-31T12:00:00.000Z'], ['global', '2026-06-01T00:00:00.000Z']]);
    const usage = (senderCount: number, globalWei: bigint) => new Map([[queries[0]!.rule, { count: senderCount, wei: 0n }], [queries[1]!.rule, { count: 0, wei: globalWei }]]);
    assert.equal(evaluateSponsorPolicy(policy, facts(), usage(1, 2n * 10n ** 15n)).outcome, 'sponsor', 'the second operation and the third milli-ether still fit');
    const overCount = evaluateSponsorPolicy(policy, facts(), usage(2, 0n));
    assert.equal(overCount.outcome === 'refuse' && overCount.code, 'sender_count_exceeded');
    const overWei = evaluateSponsorPolicy(policy, facts(), usage(0, 2n * 10n ** 15n + 1n));
    assert.equal(overWei.outcome === 'refuse' && overWei.code, 'global_wei_exceeded');
    const both = evaluateSponsorPolicy(policy, facts(), usage(2, 3n * 10n ** 15n));
    assert.equal(both.outcome === 'refuse' && both.refusals.length, 2, 'every broken rule is reported');
  });

  test('targets and selectors read execute and executeBatch; other callData cannot pass them', () => {
    const batch = op({ callData: encodeFunctionData({ abi: accountAbi, functionName: 'executeBatch', args: [[{ target, value: 1n, data: '0x' }, { target: sender, value: 0n, data: transfer }]] }) });
    assert.deepEqual(accountCalls(batch.callData)?.map((c) => [c.target, c.selector]), [[target, null], [sender, '0xa9059cbb']]);
    const targets = parseSponsorPolicy({ rules: [{ type: 'targets', allow: [target] }] });
    const verdict = evaluateSponsorPolicy(targets, facts(batch), none);
    assert.equal(verdict.outcome === 'refuse' && verdict.code, 'target_not_allowed');
    const opaque = op({ callData: '0xdeadbeef' });
    const unread = evaluateSponsorPolicy(parseSponsorPolicy({ rules: [{ type: 'selectors', allow: ['0xa9059cbb'] }] }), facts(opaque), none);
    assert.equal(unread.outcome === 'refuse' && unread.code, 'calls_not_understood');
  });

  test('a malformed policy is refused, naming the field', () => {
    assert.throws(() => parseSponsorPolicy({ rules: [{ type: 'per_sender' }] }), /maxCount, maxWei or both/);
    assert.throws(() => parseSponsorPolicy({ rules: [{ type: 'per_sender', maxCount: 1, window: { rolling: '9y' } }] }), /duration/);
    assert.throws(() => parseSponsorPolicy({ rules: [{ type: 'velocity', max: 1 }] }));
    assert.throws(() => parseSponsorPolicy({ rules: [{ type: 'active', from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }] }), /after from/);
  });
});
