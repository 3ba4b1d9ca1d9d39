// The paymaster service against a real database, with an injected clock: what it signs (the
// signature recovers to the sponsor key over the paymaster's hash), what it refuses and records,
// the per-sender signature rate, the throttle on signatures never included (reported once),
// caps that hold under concurrent requests, and reservations released when a signature dies.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recoverMessageAddress, slice, type Address, type Hex } from 'viem';
import { silentLogger } from '../infra/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { inMemorySigner, unsignedUserOperation } from '../testing/user-operations.ts';
import { handlePaymasterRpc, paymasterHash, parseUserOperation, setSponsorPolicy, settleIncludedOperations, type SponsorContext } from './index.ts';

const entryPoint: Address = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';
const paymaster: Address = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
const signer = inMemorySigner('paymaster-signer');

const senderAt = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`;
const userOp = (sender: Address, nonce: number) => unsignedUserOperation(sender, nonce);

describe('paymaster service', () => {
  let db: TestDatabase;
  let clock: Date;
  const throttled: [Address, number][] = [];
  let ctx: SponsorContext;
  const call = (method: string, op: unknown, where: { entryPoint?: string; chainId?: string } = {}) =>
    handlePaymasterRpc(ctx, { jsonrpc: '2.0', id: 1, method, params: [op, where.entryPoint ?? entryPoint, where.chainId ?? '0x7a69', null] }, { apiKeyId: null });
  const reasonOf = (response: Awaited<ReturnType<typeof call>>) => ('error' in response ? (response.error.data as { reason: string }).reason : null);

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE sponsor_decisions, sponsor_policies');
    clock = new Date('2026-06-01T12:00:00Z');
    throttled.length = 0;
    ctx = {
      pool: db.pool, logger: silentLogger, chainId: 31_337, entryPoint, paymaster, signer, validitySeconds: 300, paymasterVerificationGasLimit: 60_000n,
      signaturesPerMinuteMax: 3, unincludedMax: 2, now: () => clock, onThrottled: (sender, count) => Promise.resolve(void throttled.push([sender, count])),
    };
  });

  test('without a policy nothing is sponsored; another EntryPoint or chain is refused; every refusal is recorded', async () => {
    assert.equal(reasonOf(await call('pm_getPaymasterStubData', userOp(senderAt(1), 0))), 'no_policy');
    await setSponsorPolicy(db.pool, { rules: [] }, 'test');
    assert.equal(reasonOf(await call('pm_getPaymasterData', userOp(senderAt(1), 0), { entryPoint: paymaster })), 'unsupported_entry_point');
    assert.equal(reasonOf(await call('pm_getPaymasterData', userOp(senderAt(1), 0), { chainId: '0x1' })), 'wrong_chain');
    const bad = await call('pm_getPaymasterData', { ...userOp(senderAt(1), 0), sender: 'nobody' });
    assert.equal('error' in bad && bad.error.code, -32602);
    const unknown = await handlePaymasterRpc(ctx, { jsonrpc: '2.0', id: 2, method: 'eth_sendTransaction', params: [] }, { apiKeyId: null });
    assert.equal('error' in unknown && unknown.error.code, -32601);
    const { rows } = await db.pool.query<{ reason: string }>(`SELECT reason FROM sponsor_decisions ORDER BY id`);
    assert.deepEqual(rows.map((r) => r.reason), ['no_policy', 'unsupported_entry_point', 'wrong_chain']);
  });

  test('the stub has the final data’s length and no valid signature; the final data is signed by the sponsor key over the paymaster hash', async () => {
    await setSponsorPolicy(db.pool, { rules: [] }, 'test');
    const stub = await call('pm_getPaymasterStubData', userOp(senderAt(1), 0));
    const final = await call('pm_getPaymasterData', userOp(senderAt(1), 0));
    assert.ok('result' in stub && 'result' in final);
    const stubData = (stub.result as { paymasterData: Hex }).paymasterData;
    const result = final.result as { paymaster: Address; paymasterData: Hex; paymasterVerificationGasLimit: Hex; paymasterPostOpGasLimit: Hex };
    assert.equal(stubData.length, result.paymasterData.length);
    assert.equal(result.paymaster, paymaster);
    const validUntil = Number(BigInt(slice(result.paymasterData, 0, 32)));
    assert.equal(validUntil, clock.getTime() / 1000 + 300);
    const hash = paymasterHash(parseUserOperation(userOp(senderAt(1), 0)), { verificationGasLimit: BigInt(result.paymasterVerificationGasLimit), postOpGasLimit: BigInt(result.paymasterPostOpGasLimit) }, { chainId: 31_337, paymaster, validUntil, validAfter: 0 });
    assert.equal(await recoverMessageAddress({ message: { raw: hash }, signature: slice(result.paymasterData, 64) }), signer.address);
    assert.notEqual(await recoverMessageAddress({ message: { raw: hash }, signature: slice(stubData, 64) }), signer.address);
  });

  test('signatures per sender per minute are limited; stubs are not signatures', async () => {
    await setSponsorPolicy(db.pool, { rules: [] }, 'test');
    for (let nonce = 0; nonce < 3; nonce += 1) assert.ok('result' in (await call('pm_getPaymasterData', userOp(senderAt(1), nonce))));
    assert.ok('result' in (await call('pm_getPaymasterStubData', userOp(senderAt(1), 3))));
    assert.equal(reasonOf(await call('pm_getPaymasterData', userOp(senderAt(1), 3))), 'rate_limited');
    assert.ok('result' in (await call('pm_getPaymasterData', userOp(senderAt(2), 0))), 'another sender is not limited');
    clock = new Date(clock.getTime() + 61_000);
    assert.ok('result' in (await call('pm_getPaymasterData', userOp(senderAt(1), 3))), 'a minute later');
  });

  test('a sender whose signed operations expire unincluded is throttled and reported once; included ones do not count', async () => {
    await setSponsorPolicy(db.pool, { rules: [] }, 'test');
    const sender = senderAt(7);
    for (let nonce = 0; nonce < 3; nonce += 1) assert.ok('result' in (await call('pm_getPaymasterData', userOp(sender, nonce))));
    await settleIncludedOperations(db.pool, [{ sender, nonce: 0n, actualGasCost: 1n, txHash: '0x01', blockTime: clock }]);
    clock = new Date(clock.getTime() + 301_000);
    assert.equal(reasonOf(await call('pm_getPaymasterData', userOp(sender, 3))), 'sender_throttled', 'two expired unincluded');
    assert.equal(reasonOf(await call('pm_getPaymasterStubData', userOp(sender, 3))), 'sender_throttled');
    assert.deepEqual(throttled, [[sender, 2]], 'the operator is told once, not on every refusal');
    clock = new Date(clock.getTime() + 86_400_000);
    assert.ok('result' in (await call('pm_getPaymasterData', userOp(sender, 3))), 'the throttle looks back a day');
  });

  test('concurrent requests cannot pass a global cap; a signature that dies unused frees its reservation', async () => {
    await setSponsorPolicy(db.pool, { rules: [{ type: 'global', maxCount: 5, window: { rolling: '24h' } }] }, 'test');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => call('pm_getPaymasterData', userOp(senderAt(100 + i), 0))));
    assert.equal(answers.filter((a) => 'result' in a).length, 5);
    assert.ok(answers.filter((a) => 'error' in a).every((a) => reasonOf(a) === 'global_count_exceeded'));
    clock = new Date(clock.getTime() + 301_000);
    assert.ok('result' in (await call('pm_getPaymasterData', userOp(senderAt(200), 0))), 'expired signatures no longer hold the cap');
  });
});
