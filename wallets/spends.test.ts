// Agent spends against real PostgreSQL and a real anvil (gas estimates): concurrency against a
// limit, windows across midnight and DST, every rule's code, approvals, freeze and lockdown,
// idempotency, a signer that is down, and the spend-window projection replayed from the journal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address } from 'viem';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter, registerAsset, replayProjection, spendWindowsProjection, verifyLedger } from '../ledger/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import { evmGasEstimator } from '../chains/index.ts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { ChainSignaturesSigner, rootKeys, SignerError } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import {
  approveSpend,
  createWallet,
  decideSpend,
  executeSpend,
  expireApproval,
  getSpend,
  requestSpend,
  setPolicy,
  type PolicyInput,
  type SpendContext,
  type SpendRequestBody,
  type WalletKeySettings,
} from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let anvil: Anvil;
let app: ReturnType<typeof createApp>;
let ownerId: string;
let ownerKey: string;
let operatorKey: string;
const keys: WalletKeySettings = { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
const webhookRoot = Buffer.alloc(32, 7);
const recipient = '0x00000000000000000000000000000000000000b0' as Address;
const milli = 10n ** 15n;
let walletCounter = 0;

const contextAt = (at: () => Date): SpendContext => ({ pool: db.pool, writer, logger: silentLogger, estimateGas: evmGasEstimator(anvil.url), clock: at });

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  anvil = await startAnvil();
  app = createApp({ pool: db.pool, writer, logger: silentLogger, wallets: { keys, webhookRoot } });
  const owner = await createUser(db.pool, { nearAccountId: 'owner.testnet' });
  ownerId = owner.id;
  ownerKey = (await createApiKey(db.pool, { role: 'user', userId: owner.id })).key;
  operatorKey = (await createApiKey(db.pool, { role: 'operator' })).key;
  await registerAsset(db.pool, { code: 'TUSDC', scale: 6, chain: 'ethereum', contract: '0x00000000000000000000000000000000000000c0' });
});
after(async () => {
  await writer.close();
  await anvil.stop();
  await db.drop();
});

/** A wallet with a policy, 10 ETH on chain (for estimates) and in the ledger, and an agent key. */
async function walletWith(policy: PolicyInput | null, fundWei = 10n ** 19n) {
  walletCounter += 1;
  const id = `w${walletCounter}`;
  const wallet = await createWallet(db.pool, keys, { id, ownerUserId: ownerId, actor: 'test' });
  if (policy) await setPolicy(db.pool, id, policy, 'test');
  await anvil.rpc('anvil_setBalance', [wallet.address, `0x${fundWei.toString(16)}`]);
  // Stands for money the EVM indexer saw arrive (wallets/agent.test.ts funds a wallet on chain).
  const [funded] = await writer.appendMany([
    { kind: 'adjustment', idempotencyKey: `fund:${id}`, postings: [{ source: 'world:ethereum', destination: `wallets:${id}:available`, asset: 'ETH', amount: fundWei }] },
  ]);
  assert.equal(funded!.status, 'created');
  const agentKey = (await createApiKey(db.pool, { role: 'agent', walletId: id })).key;
  return { id, address: wallet.address, agentKey };
}

const eth = (amount: bigint, to: Address = recipient): SpendRequestBody => ({ to, asset: 'ETH', amount: amount.toString() });

async function spendAndDecide(walletId: string, body: SpendRequestBody, at: Date, key = `k-${Math.random()}`) {
  const { spend } = await requestSpend(db.pool, { walletId, idempotencyKey: key, body, requestedBy: 'test' });
  return decideSpend(contextAt(() => at), spend.id);
}

/** The fields of API answers these tests read. */
interface ApiBody {
  id: string;
  status: string;
  code: string;
  detail: string;
  holdEntryId: string | null;
  decidedBy: string;
  frozen: boolean;
  lockedDown: boolean;
  version: number;
  balances: { asset: string; available: string; held: string }[];
  budgets: { remaining: string }[];
  data: { kind: string; detail: { revokedKeys?: string[] } }[];
  policy: { rules: { id: string }[] };
}

async function call(path: string, options: { key: string; method?: string; body?: unknown; headers?: Record<string, string> }) {
  const response = await app.request(path, {
    method: options.method ?? 'GET',
    headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json', ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as ApiBody };
}

describe('budgets under concurrency', () => {
  for (const round of [1, 2, 3]) {
    test(`100 concurrent spends against a daily limit that admits 10: exactly 10 allowed (round ${round})`, async () => {
      const w = await walletWith({ timeZone: 'Europe/Berlin', rules: [{ id: 'daily', type: 'window_limit', asset: 'ETH', max: (10n * milli).toString(), window: { calendar: 'day' } }] });
      const requests = await Promise.all(
        Array.from({ length: 100 }, (_, i) => call(`/v1/wallets/${w.id}/spends`, { key: w.agentKey, method: 'POST', body: eth(milli), headers: { 'idempotency-key': `r${round}-${i}` } })),
      );
      assert.deepEqual([...new Set(requests.map((r) => r.status))], [202]);
      const noon = new Date('2026-11-21T11:00:00Z');
      const decisions = await Promise.all(requests.map((r) => decideSpend(contextAt(() => noon), r.body.id)));
      const allowed = decisions.filter((d) => d.outcome === 'allow');
      assert.equal(allowed.length, 10);
      assert.ok(decisions.filter((d) => d.outcome === 'reject').every((d) => d.spend.code === 'window_limit_exceeded'));
      const { rows } = await db.pool.query<{ n: string; sum: string }>('SELECT count(*)::text AS n, sum(amount)::text AS sum FROM spend_window_entries WHERE wallet_id = $1', [w.id]);
      assert.deepEqual(rows[0], { n: '10', sum: (10n * milli).toString() });
      const wallet = await call(`/v1/wallets/${w.id}`, { key: w.agentKey });
      const eth_ = wallet.body.balances.find((b) => b.asset === 'ETH')!;
      const reserves = allowed.reduce((sum, d) => sum + d.spend.gasReserve!, 0n);
      assert.equal(BigInt(eth_.held), 10n * milli + reserves);
      assert.equal(BigInt(eth_.available) + BigInt(eth_.held), 10n ** 19n);
    });
  }
});

describe('windows', () => {
  test('around midnight in Asia/Seoul: the calendar day starts afresh, the rolling 24 h does not', async () => {
    const calendar = await walletWith({ timeZone: 'Asia/Seoul', rules: [{ type: 'window_limit', asset: 'ETH', max: (100n * milli).toString(), window: { calendar: 'day' } }] });
    const rolling = await walletWith({ rules: [{ type: 'window_limit', asset: 'ETH', max: (100n * milli).toString(), window: { rolling: '24h' } }] });
    const beforeMidnight = new Date('2026-11-20T14:30:00Z'); // 23:30 in Seoul
    const afterMidnight = new Date('2026-11-20T15:30:00Z'); // 00:30 the next day in Seoul
    for (const w of [calendar, rolling]) assert.equal((await spendAndDecide(w.id, eth(80n * milli), beforeMidnight)).outcome, 'allow');
    assert.equal((await spendAndDecide(calendar.id, eth(80n * milli), afterMidnight)).outcome, 'allow');
    const refused = await spendAndDecide(rolling.id, eth(80n * milli), afterMidnight);
    assert.equal(refused.outcome, 'reject');
    assert.equal(refused.spend.code, 'window_limit_exceeded');
    assert.equal(refused.spend.violations[0]!.detail.used, (80n * milli).toString());
  });

  test('across the spring DST change in Europe/Berlin, the 23-hour calendar day ends at local midnight', async () => {
    const w = await walletWith({ timeZone: 'Europe/Berlin', rules: [{ type: 'window_limit', asset: 'ETH', max: (100n * milli).toString(), window: { calendar: 'day' } }] });
    // 2026-03-29 in Berlin runs from 2026-03-28T23:00Z to 2026-03-29T22:00Z (clocks jump 02:00 → 03:00).
    assert.equal((await spendAndDecide(w.id, eth(60n * milli), new Date('2026-03-28T23:10:00Z'))).outcome, 'allow'); // 00:10 CET on the 29th
    assert.equal((await spendAndDecide(w.id, eth(60n * milli), new Date('2026-03-29T21:50:00Z'))).spend.code, 'window_limit_exceeded'); // 23:50 CEST, same day
    // 00:10 CEST on the 30th. A fixed +01:00 offset would still call this the 29th (23:10) and refuse it.
    assert.equal((await spendAndDecide(w.id, eth(60n * milli), new Date('2026-03-29T22:10:00Z'))).outcome, 'allow');
  });
});

describe('every rule kind rejects with its code', () => {
  const at = new Date('2026-11-21T10:00:00Z');
  const cases: { name: string; rule: Record<string, unknown>; body: SpendRequestBody; code: string; primer?: SpendRequestBody }[] = [
    { name: 'per-transaction cap', rule: { type: 'per_tx_cap', asset: 'ETH', max: milli.toString() }, body: eth(2n * milli), code: 'per_tx_cap_exceeded' },
    { name: 'window limit', rule: { type: 'window_limit', asset: 'ETH', max: milli.toString(), window: { rolling: '7d' } }, body: eth(2n * milli), code: 'window_limit_exceeded' },
    { name: 'recipients', rule: { type: 'recipients', allow: ['0x00000000000000000000000000000000000000b1'] }, body: eth(milli), code: 'recipient_not_allowed' },
    { name: 'contracts', rule: { type: 'contracts', allow: ['0x00000000000000000000000000000000000000b1'] }, body: { ...eth(milli), data: '0xd09de08a' }, code: 'contract_not_allowed' },
    { name: 'selectors', rule: { type: 'selectors', allow: ['0xa9059cbb'] }, body: { ...eth(milli), data: '0xd09de08a' }, code: 'selector_not_allowed' },
    { name: 'tokens', rule: { type: 'tokens', allow: ['TUSDC'] }, body: eth(milli), code: 'token_not_allowed' },
    { name: 'hours', rule: { type: 'hours', from: '09:00', to: '17:00', timeZone: 'America/New_York' }, body: eth(milli), code: 'outside_allowed_hours' }, // 05:00 in New York
    { name: 'cooldown', rule: { type: 'cooldown', seconds: 600 }, body: eth(milli), code: 'cooldown_active', primer: eth(milli) },
    { name: 'velocity', rule: { type: 'velocity', max: 1, window: { rolling: '1h' } }, body: eth(milli), code: 'velocity_exceeded', primer: eth(milli) },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const w = await walletWith({ rules: [c.rule as never] });
      if (c.primer) assert.equal((await spendAndDecide(w.id, c.primer, new Date(at.getTime() - 60_000))).outcome, 'allow');
      const decided = await spendAndDecide(w.id, c.body, at);
      assert.equal(decided.outcome, 'reject');
      assert.equal(decided.spend.status, 'rejected');
      assert.equal(decided.spend.code, c.code);
      assert.equal(decided.spend.violations.length, 1);
      assert.equal(decided.spend.holdEntryId, null);
    });
  }

  test('every violated rule is recorded, and the most severe decides', async () => {
    const w = await walletWith({
      rules: [
        { type: 'per_tx_cap', asset: 'ETH', max: '1', severity: 'approve' },
        { type: 'recipients', allow: ['0x00000000000000000000000000000000000000b1'], severity: 'reject' },
      ],
    });
    const decided = await spendAndDecide(w.id, eth(milli), at);
    assert.equal(decided.outcome, 'reject');
    assert.deepEqual(decided.spend.violations.map((v) => v.code).sort(), ['per_tx_cap_exceeded', 'recipient_not_allowed']);
    assert.equal(decided.spend.code, 'recipient_not_allowed');
  });

  test('no policy, a frozen wallet and missing funds fail closed', async () => {
    const bare = await walletWith(null);
    assert.equal((await spendAndDecide(bare.id, eth(milli), at)).spend.code, 'no_policy');
    const poor = await walletWith({ rules: [] }, milli);
    assert.equal((await spendAndDecide(poor.id, eth(milli), at)).spend.code, 'insufficient_funds');
  });
});

describe('escalation', () => {
  const approvalPolicy: PolicyInput = { rules: [{ id: 'big', type: 'per_tx_cap', asset: 'ETH', max: milli.toString(), severity: 'approve', approvalTimeoutSeconds: 600 }] };

  test('approve: the owner approves through the API and the hold is taken', async () => {
    const w = await walletWith(approvalPolicy);
    const at = new Date();
    const waiting = await spendAndDecide(w.id, eth(5n * milli), at);
    assert.equal(waiting.spend.status, 'awaiting_approval');
    assert.equal(waiting.spend.approvalDeadline!.getTime(), at.getTime() + 600_000);
    const { rows } = await db.pool.query<{ run_after: Date }>("SELECT run_after FROM outbox WHERE dedupe_key = $1", [`spend:${waiting.spend.id}:expire`]);
    assert.equal(rows[0]!.run_after.getTime(), waiting.spend.approvalDeadline!.getTime());
    assert.equal((await call(`/v1/spends/${waiting.spend.id}/approve`, { key: w.agentKey, method: 'POST' })).status, 403);
    const approved = await call(`/v1/spends/${waiting.spend.id}/approve`, { key: ownerKey, method: 'POST' });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.status, 'allowed');
    assert.match(approved.body.decidedBy, /^user:/);
    assert.ok(approved.body.holdEntryId);
    assert.equal((await call(`/v1/spends/${waiting.spend.id}/approve`, { key: ownerKey, method: 'POST' })).body.code, 'spend_not_awaiting_approval');
  });

  test('reject: the owner says no and nothing is held', async () => {
    const w = await walletWith(approvalPolicy);
    const waiting = await spendAndDecide(w.id, eth(5n * milli), new Date());
    const rejected = await call(`/v1/spends/${waiting.spend.id}/reject`, { key: ownerKey, method: 'POST', body: { reason: 'not today' } });
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(rejected.body.code, 'approval_rejected');
    assert.equal(rejected.body.holdEntryId, null);
  });

  test('timeout: unanswered, the spend expires; approving after the deadline is refused', async () => {
    const w = await walletWith(approvalPolicy);
    const at = new Date('2026-11-21T10:00:00Z');
    const first = await spendAndDecide(w.id, eth(5n * milli), at);
    await assert.rejects(expireApproval({ writer, clock: () => new Date(at.getTime() + 300_000) }, first.spend.id), /not due to expire/);
    const expired = await expireApproval({ writer, clock: () => new Date(at.getTime() + 600_000) }, first.spend.id);
    assert.equal(expired.status, 'expired');
    assert.equal(expired.code, 'approval_expired');
    const second = await spendAndDecide(w.id, eth(5n * milli), at);
    await assert.rejects(approveSpend({ writer, clock: () => new Date(at.getTime() + 601_000) }, second.spend.id, 'user:x'), { code: 'approval_expired' });
    assert.equal((await getSpend(db.pool, second.spend.id))!.status, 'expired');
  });
});

describe('freeze and lockdown', () => {
  const at = new Date('2026-11-21T10:00:00Z');
  const stranger = '0x00000000000000000000000000000000000000ee' as Address;

  test('a freeze rule rejects and freezes; nothing passes until the owner unfreezes', async () => {
    const w = await walletWith({ rules: [{ type: 'recipients', allow: [recipient], severity: 'freeze' }] });
    assert.equal((await spendAndDecide(w.id, eth(milli, stranger), at)).outcome, 'freeze');
    const frozen = await spendAndDecide(w.id, eth(milli), at);
    assert.equal(frozen.spend.code, 'wallet_frozen');
    assert.equal((await call(`/v1/wallets/${w.id}`, { key: ownerKey })).body.frozen, true);
    assert.equal((await call(`/v1/wallets/${w.id}/unfreeze`, { key: ownerKey, method: 'POST' })).body.frozen, false);
    assert.equal((await spendAndDecide(w.id, eth(milli), at)).outcome, 'allow');
  });

  test('a lockdown rule revokes the agent key; only an operator lifts it', async () => {
    const w = await walletWith({ rules: [{ type: 'per_tx_cap', asset: 'ETH', max: milli.toString(), severity: 'lockdown' }] });
    assert.equal((await call(`/v1/wallets/${w.id}`, { key: w.agentKey })).status, 200);
    assert.equal((await spendAndDecide(w.id, eth(2n * milli), at)).outcome, 'lockdown');
    assert.equal((await call(`/v1/wallets/${w.id}`, { key: w.agentKey })).status, 401);
    assert.equal((await spendAndDecide(w.id, eth(milli), at)).spend.code, 'wallet_frozen');
    assert.equal((await call(`/v1/wallets/${w.id}/unfreeze`, { key: ownerKey, method: 'POST' })).status, 403);
    const lifted = await call(`/v1/wallets/${w.id}/unfreeze`, { key: operatorKey, method: 'POST' });
    assert.equal(lifted.body.lockedDown, false);
    const events = await call(`/v1/wallets/${w.id}/events`, { key: operatorKey });
    assert.deepEqual(
      events.body.data.map((e) => e.kind).filter((k) => k.startsWith('wallet.')),
      ['wallet.unfrozen', 'wallet.locked_down', 'wallet.frozen', 'wallet.created'],
    );
    // The lockdown names the keys it revoked (access/ revokes them): the wallet's one agent key.
    assert.deepEqual(events.body.data.find((e) => e.kind === 'wallet.locked_down')?.detail.revokedKeys, [w.agentKey.split('_')[1]]);
  });
});

describe('idempotency and access', () => {
  test('the same key twice is one spend; another body under it is a conflict; a rejected spend stays rejected', async () => {
    const w = await walletWith({ rules: [{ type: 'per_tx_cap', asset: 'ETH', max: milli.toString() }] });
    const send = (body: SpendRequestBody) => call(`/v1/wallets/${w.id}/spends`, { key: w.agentKey, method: 'POST', body, headers: { 'idempotency-key': 'same' } });
    const first = await send(eth(2n * milli));
    assert.equal(first.status, 202);
    await decideSpend(contextAt(() => new Date()), first.body.id);
    const again = await send(eth(2n * milli));
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.status, 'rejected');
    assert.equal(again.body.code, 'per_tx_cap_exceeded');
    assert.equal((await decideSpend(contextAt(() => new Date()), first.body.id)).outcome, 'already_decided');
    const conflict = await send(eth(milli));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'idempotency_conflict');
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM spends WHERE wallet_id = $1', [w.id]);
    assert.equal(rows[0]!.n, '1');
  });

  test('bad input is a 4xx with a code, and keys only see their own wallets', async () => {
    const w = await walletWith({ rules: [] });
    const other = await walletWith({ rules: [] });
    const post = (key: string, body: unknown, headers: Record<string, string> = { 'idempotency-key': 'x' }) => call(`/v1/wallets/${w.id}/spends`, { key, method: 'POST', body, headers });
    assert.equal((await post(w.agentKey, eth(milli), {})).body.code, 'idempotency_key_required');
    assert.equal((await post(w.agentKey, { to: 'nope', asset: 'ETH', amount: '1' })).status, 400);
    assert.equal((await post(w.agentKey, { to: recipient, asset: 'ETH', amount: '0' })).status, 400);
    assert.equal((await post(w.agentKey, { to: recipient, asset: 'DOGE', amount: '1' })).body.code, 'unknown_asset');
    assert.equal((await post(other.agentKey, eth(milli))).status, 404);
    assert.equal((await post(ownerKey, eth(milli))).status, 403);
    assert.equal((await call(`/v1/wallets/${w.id}`, { key: other.agentKey })).status, 404);
    const badPolicy = await call(`/v1/wallets/${w.id}/policy`, { key: ownerKey, method: 'PUT', body: { timeZone: 'Mars/Olympus', rules: [] } });
    assert.equal(badPolicy.status, 400);
    assert.match(badPolicy.body.detail, /IANA/);
    assert.equal((await call(`/v1/wallets/${w.id}/policy`, { key: w.agentKey, method: 'PUT', body: { rules: [] } })).status, 403);
    const good = await call(`/v1/wallets/${w.id}/policy`, { key: ownerKey, method: 'PUT', body: { rules: [{ type: 'cooldown', seconds: 5 }] } });
    assert.equal(good.status, 200);
    assert.equal(good.body.version, 2);
    assert.equal((await call(`/v1/wallets/${w.id}/policy`, { key: w.agentKey })).body.policy.rules[0]!.id, 'cooldown-1');
    await assert.rejects(db.pool.query("UPDATE wallet_policies SET policy = '{}' WHERE wallet_id = $1", [w.id]), /append-only/);
  });
});

describe('fail closed on the signer, and the projection', () => {
  test('a signer that cannot be reached fails the spend and gives its budget and funds back', async () => {
    const w = await walletWith({ rules: [{ type: 'velocity', max: 1, window: { rolling: '24h' } }] });
    const decided = await spendAndDecide(w.id, eth(milli), new Date());
    assert.equal(decided.outcome, 'allow');
    // The production signer with a NEAR network that does not answer.
    const unreachable = new ChainSignaturesSigner({ contractId: 'v1.signer-prod.testnet', roots: rootKeys.testnet, call: () => Promise.reject(new SignerError('signer_unavailable', 'the NEAR RPC did not answer')) });
    const executed = await executeSpend({ pool: db.pool, writer, logger: silentLogger, signer: unreachable, rpcUrl: anvil.url, confirmations: 1 }, decided.spend.id);
    assert.equal(executed.status, 'failed');
    assert.equal(executed.code, 'signer_unavailable');
    const wallet = await call(`/v1/wallets/${w.id}`, { key: ownerKey });
    assert.equal(wallet.body.balances.find((b) => b.asset === 'ETH')!.held, '0');
    assert.equal(wallet.body.budgets[0]!.remaining, '1');
    assert.equal((await spendAndDecide(w.id, eth(milli), new Date())).outcome, 'allow');
  });

  test('spend-window counters replayed from the journal equal the live ones, and verify passes', async () => {
    const report = await replayProjection(db.pool, spendWindowsProjection);
    assert.equal(report.diff.onlyLive + report.diff.onlyReplay + report.diff.different, 0);
    const { rows } = await db.pool.query<{ n: string; released: string }>('SELECT count(*)::text AS n, count(released_entry_id)::text AS released FROM spend_window_entries');
    assert.ok(Number(rows[0]!.n) > 40);
    assert.equal(rows[0]!.released, '1');
    const verify = await verifyLedger(db.pool);
    assert.equal(verify.ok, true, JSON.stringify(verify.checks.filter((c) => !c.ok)));
  });
});
