// CHOCO credits against a real PostgreSQL and the local Hermes replay server (the same
// @pythnetwork/hermes-client code path as production). Deposits are written to the journal the
// way the indexer writes them, so no chain is needed here; jobs/pipeline.test.ts runs the
// whole pipeline with anvil, Redis and worker processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import { startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import {
  catchUp,
  chocoBalancesProjection,
  depositEntryKinds,
  getBalances,
  getEntry,
  getTrialBalance,
  LedgerWriter,
  registerAsset,
  replayProjection,
  type AppendResult,
} from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser } from '../users/index.ts';
import { creditDeposit, reverseCredit, type CreditContext } from './credits.ts';
import { PriceRefusedError, PriceSource, pythFeeds } from './prices.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal } from './valuation.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let hermes: HermesReplay;
let context: CreditContext;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  hermes = await startHermesReplay();
  await registerAsset(db.pool, { code: 'TUSDC', scale: 6, chain: 'ethereum', contract: '0x' + '11'.repeat(20) });
  context = {
    pool: db.pool,
    writer,
    prices: new PriceSource({ db: db.pool, hermesUrl: hermes.url, limits: { maxAgeSeconds: 60, maxConfBps: 200 } }),
    settings: {
      pricing: parseAssetPricing('TUSDC=usd:1,NEAR=choco:5000'),
      minimumsUsd: parseChainMinimums('ethereum=1'),
      chocoPerUsd: parseDecimal('100', 'test'),
      sweepChains: new Set(),
    },
  };
});
after(async () => {
  hermes?.misbehave({});
  await writer?.close();
  await hermes?.stop();
  await db?.drop();
});

const entryOf = (result: AppendResult | undefined) => {
  assert.ok(result && (result.status === 'created' || result.status === 'replayed'), JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  return result.entry;
};

/** A confirmed deposit in the journal, written as the EVM indexer writes one. */
async function confirmedDeposit(options: { userId: string; asset?: string; amount: bigint; chain?: string; at?: Date }) {
  const chain = options.chain ?? 'ethereum';
  const asset = options.asset ?? 'ETH';
  const address = '0x' + randomBytes(20).toString('hex');
  const keyBase = `${chain}:0x${randomBytes(32).toString('hex')}:value`;
  const depositKey = `${keyBase}:deposit@0xblock`;
  const [pending, confirmed] = await writer.transaction((tx) =>
    tx.append([
      {
        kind: depositEntryKinds.pending,
        idempotencyKey: depositKey,
        effectiveAt: options.at ?? new Date(Date.now() - 30_000),
        metadata: { chain, userId: options.userId, address },
        postings: [{ source: `world:${chain}`, destination: `deposits:${chain}:${address}:pending`, asset, amount: options.amount }],
      },
      {
        kind: depositEntryKinds.confirmed,
        idempotencyKey: `${keyBase}:confirm@0xblock`,
        metadata: { depositKey },
        postings: [{ source: `deposits:${chain}:${address}:pending`, destination: `custody:${chain}:${address}`, asset, amount: options.amount }],
      },
    ]),
  );
  return { deposit: entryOf(pending), confirmation: entryOf(confirmed), address };
}

async function chocoOf(userId: string): Promise<bigint> {
  return (await getBalances(db.pool, { account: `users:${userId}:choco`, asset: 'CHOCO' }))[0]?.balance ?? 0n;
}

async function newUser(name: string) {
  return createUser(db.pool, { nearAccountId: `${name}-${randomBytes(3).toString('hex')}.testnet` });
}

describe('CHOCO credits', () => {
  test('a confirmed ETH deposit is credited once, at price − conf of its block time, naming the price used', async () => {
    const user = await newUser('ann');
    const { confirmation, deposit } = await confirmedDeposit({ userId: user.id, amount: 2n * 10n ** 17n }); // 0.2 ETH
    // Concurrent and repeated runs of the same job: one credit.
    const outcomes = await Promise.all([creditDeposit(context, confirmation.id), creditDeposit(context, confirmation.id), creditDeposit(context, confirmation.id)]);
    assert.equal(outcomes.filter((o) => o.status === 'credited').length, 1, JSON.stringify(outcomes, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    assert.equal((await creditDeposit(context, confirmation.id)).status, 'decided_before');

    const credited = outcomes.find((o) => o.status === 'credited')!;
    assert.equal(credited.status, 'credited');
    const { rows } = await db.pool.query<{ price: string; conf: string; expo: number; publish_time: Date; refused_reason: string | null; feed_id: string }>(
      'SELECT price::text, conf::text, expo, publish_time, refused_reason, feed_id FROM price_observations WHERE id = $1',
      [credited.priceObservationId!.toString()],
    );
    const price = rows[0]!;
    assert.equal(price.refused_reason, null);
    assert.equal(price.feed_id, pythFeeds['ETH/USD']);
    assert.ok(Math.abs(price.publish_time.getTime() - deposit.effectiveAt.getTime()) <= 60_000, 'the price is of the deposit time');
    // 0.2 ETH × (price − conf) × 10^-8 USD × 100 CHOCO/USD, in 18-decimal CHOCO.
    const expected = (2n * 10n ** 17n * (BigInt(price.price) - BigInt(price.conf)) * 100n * 10n ** 18n) / (10n ** 18n * 10n ** 8n);
    assert.equal(credited.choco, expected);
    assert.equal(await chocoOf(user.id), expected);

    // What the user sees through the API.
    const app = createApp({ pool: db.pool, writer, logger: silentLogger });
    const key = (await createApiKey(db.pool, { role: 'user', userId: user.id })).key;
    const response = await app.request(`/v1/users/${user.id}/balances`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { choco: { balance: string } }).choco.balance, expected.toString());

    const entry = (await getEntry(db.pool, credited.creditEntryId))!;
    assert.equal(entry.kind, 'credit.issued');
    assert.equal(entry.metadata.priceObservationId, credited.priceObservationId!.toString());
    assert.equal(entry.postings[0]!.source, 'issuer:choco');
    const { rows: entries } = await db.pool.query("SELECT 1 FROM journal_entries WHERE kind = 'credit.issued' AND source_ref = $1", [entry.sourceRef]);
    assert.equal(entries.length, 1);
  });

  test('a stale price and an over-wide price are refused and recorded, never used; a good price later credits', async () => {
    const user = await newUser('ben');
    const { confirmation, deposit } = await confirmedDeposit({ userId: user.id, amount: 10n ** 18n });
    hermes.misbehave({ staleSeconds: 600 });
    await assert.rejects(creditDeposit(context, confirmation.id), (error: Error) => error instanceof PriceRefusedError && /stale/.test(error.message));
    hermes.misbehave({ confBps: 500 });
    await assert.rejects(creditDeposit(context, confirmation.id), (error: Error) => error instanceof PriceRefusedError && /confidence too wide/.test(error.message));
    assert.equal(await chocoOf(user.id), 0n);
    const { rows: decided } = await db.pool.query('SELECT 1 FROM credit_decisions WHERE confirmation_entry_id = $1', [confirmation.id.toString()]);
    assert.equal(decided.length, 0, 'no decision while the price is bad');

    hermes.misbehave({});
    const outcome = await creditDeposit(context, confirmation.id);
    assert.equal(outcome.status, 'credited');
    assert.equal(outcome.status === 'credited' && outcome.priceObservationId !== null, true);
    const { rows } = await db.pool.query<{ refused: bigint; used_refused: boolean }>(
      `SELECT count(*) FILTER (WHERE refused_reason IS NOT NULL) AS refused,
              coalesce(bool_or(refused_reason IS NOT NULL AND id = $1), false) AS used_refused
         FROM price_observations WHERE requested_for = $2`,
      [outcome.status === 'credited' ? outcome.priceObservationId!.toString() : '0', deposit.effectiveAt],
    );
    assert.equal(rows[0]!.refused, 2n);
    assert.equal(rows[0]!.used_refused, false);
  });

  test('a deposit below the chain minimum is recorded, not credited, with the reason', async () => {
    const user = await newUser('cid');
    const { confirmation } = await confirmedDeposit({ userId: user.id, amount: 10n ** 12n }); // 0.000001 ETH ≈ $0.003
    const outcome = await creditDeposit(context, confirmation.id);
    assert.equal(outcome.status, 'below_minimum');
    assert.match(outcome.status === 'below_minimum' ? outcome.reason : '', /below the ethereum minimum of \$1\.00/);
    const { rows } = await db.pool.query<{ status: string; reason: string }>('SELECT status, reason FROM credit_decisions WHERE confirmation_entry_id = $1', [confirmation.id.toString()]);
    assert.equal(rows[0]!.status, 'below_minimum');
    assert.equal(await chocoOf(user.id), 0n);
  });

  test('fixed rates: a pegged token at $1 and the MVP 1 NEAR = 5,000 CHOCO', async () => {
    const user = await newUser('dee');
    const token = await confirmedDeposit({ userId: user.id, asset: 'TUSDC', amount: 25_500_000n }); // 25.5 TUSDC
    const tokenOutcome = await creditDeposit(context, token.confirmation.id);
    assert.equal(tokenOutcome.status === 'credited' && tokenOutcome.choco, 2_550n * 10n ** 18n); // $25.50 × 100
    const near = await confirmedDeposit({ userId: user.id, asset: 'NEAR', chain: 'near', amount: 2n * 10n ** 24n });
    const nearOutcome = await creditDeposit(context, near.confirmation.id);
    assert.equal(nearOutcome.status === 'credited' && nearOutcome.choco, 10_000n * 10n ** 18n);
    assert.equal(nearOutcome.status === 'credited' && nearOutcome.priceObservationId, null, 'a fixed rate asks no oracle');
  });

  test('reversing a credit: a full reversal when unspent; a clawback to a receivable for what was spent', async () => {
    const unspent = await newUser('eve');
    const a = await confirmedDeposit({ userId: unspent.id, asset: 'TUSDC', amount: 10_000_000n });
    await creditDeposit(context, a.confirmation.id);
    const reversal = await reverseCredit(context, a.confirmation.id);
    assert.equal(reversal.status, 'reversed');
    const reversalEntry = (await getEntry(db.pool, reversal.status === 'reversed' ? reversal.entryId : 0n))!;
    assert.equal(reversalEntry.kind, 'credit.reversal');
    assert.notEqual(reversalEntry.reverses, null);
    assert.equal(await chocoOf(unspent.id), 0n);
    assert.deepEqual(await reverseCredit(context, a.confirmation.id), reversal, 'a second reversal job changes nothing');

    const spender = await newUser('fay');
    const b = await confirmedDeposit({ userId: spender.id, asset: 'TUSDC', amount: 10_000_000n }); // 1,000 CHOCO
    await creditDeposit(context, b.confirmation.id);
    entryOf(
      await writer.append({
        kind: 'choco.spend',
        idempotencyKey: `spend:${spender.id}`,
        postings: [{ source: `users:${spender.id}:choco`, destination: 'merchants:shop', asset: 'CHOCO', amount: 700n * 10n ** 18n }],
      }),
    );
    const clawback = await reverseCredit(context, b.confirmation.id);
    assert.equal(clawback.status === 'reversed' && clawback.shortfall, 700n * 10n ** 18n);
    assert.equal(await chocoOf(spender.id), 0n);
    const owed = (await getBalances(db.pool, { account: `receivables:choco:${spender.id}`, asset: 'CHOCO' }))[0]!.balance;
    assert.equal(owed, -700n * 10n ** 18n, 'the user owes what they had spent');
    for (const line of await getTrialBalance(db.pool)) assert.equal(line.debits, line.credits, `trial balance of ${line.asset}`);
  });

  test('a confirmation reversed before its credit job runs is never credited', async () => {
    const user = await newUser('gus');
    const { confirmation, address } = await confirmedDeposit({ userId: user.id, asset: 'TUSDC', amount: 5_000_000n });
    entryOf(
      await writer.append({
        kind: depositEntryKinds.confirmationReversal,
        idempotencyKey: `reverse:${confirmation.id}`,
        reverses: confirmation.id,
        postings: [{ source: `custody:ethereum:${address}`, destination: `deposits:ethereum:${address}:pending`, asset: 'TUSDC', amount: 5_000_000n }],
      }),
    );
    assert.equal((await reverseCredit(context, confirmation.id)).status, 'nothing_to_reverse');
    const outcome = await creditDeposit(context, confirmation.id);
    assert.equal(outcome.status === 'decided_before' && outcome.decision, 'not_credited_reversed');
    assert.equal(await chocoOf(user.id), 0n);
  });

  test('CHOCO balances are a projection: followed live and equal to a replay from the journal', async () => {
    await catchUp(db.pool, chocoBalancesProjection);
    const { rows } = await db.pool.query<{ user_id: string; balance: string }>('SELECT user_id, balance::text FROM choco_balances ORDER BY user_id');
    assert.ok(rows.length >= 4);
    for (const row of rows) assert.equal(BigInt(row.balance), await chocoOf(row.user_id), `user ${row.user_id}`);
    const report = await replayProjection(db.pool, chocoBalancesProjection, { swap: false });
    assert.equal(report.diff.onlyLive + report.diff.onlyReplay + report.diff.different, 0, JSON.stringify(report.diff));
  });
});
