// What a user sees of their deposits, composed from the rooms' doors against a real PostgreSQL:
// deposits are written to the journal as an indexer writes them, credited by the credit job, and
// the sweep row is written as the sweep worker leaves it, so no chain is needed here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { creditDeposit, parseAssetPricing, parseChainMinimums, parseDecimal, PriceSource, type CreditContext } from '../credits/index.ts';
import { run, sqlBuilder } from '../infra/index.ts';
import { catchUp, chart, depositEntryKinds, depositsProjection, LedgerWriter, registerAsset, type AppendResult } from '../ledger/index.ts';
import { ChainSignaturesEmulator } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../users/index.ts';
import { getDepositHistory, getUserBalances, getUserChoco, listUserDeposits } from './index.ts';

const chain = 'ethereum';
// Development roots; any fixed pair serves here.
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});
const derivation: DerivationSettings = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } };

let db: TestDatabase;
let writer: LedgerWriter;
let credits: CreditContext;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  await registerAsset(db.pool, { code: 'TUSDC', scale: 6, chain, contract: '0x' + '11'.repeat(20) });
  credits = {
    pool: db.pool,
    writer,
    // Fixed USD pricing only: the price source is never asked.
    prices: new PriceSource({ db: db.pool, hermesUrl: 'http://127.0.0.1:9', limits: { maxAgeSeconds: 60, maxConfBps: 200 } }),
    settings: { pricing: parseAssetPricing('TUSDC=usd:1'), minimumsUsd: parseChainMinimums(`${chain}=1`), chocoPerUsd: parseDecimal('100', 'test'), sweepChains: new Set() },
  };
});
after(async () => {
  await writer?.close();
  await db?.drop();
});

const booked = (result: AppendResult | undefined) => {
  assert.ok(result && (result.status === 'created' || result.status === 'replayed'));
  return result.entry;
};

/** A deposit as the EVM indexer books it: pending in `blockHeight`, and confirmed when asked. */
async function deposit(options: { userId: string; address: string; asset: string; amount: bigint; blockHeight: number; confirm: boolean }) {
  const keyBase = `${chain}:0x${randomBytes(32).toString('hex')}:value`;
  const depositKey = `${keyBase}:deposit@0xblock${options.blockHeight}`;
  const txHash = `0x${randomBytes(32).toString('hex')}`;
  const pendingAccount = chart.depositPending(chain, options.address);
  const [pending, confirmed] = await writer.transaction((tx) =>
    tx.append([
      {
        kind: depositEntryKinds.pending,
        idempotencyKey: depositKey,
        sourceRef: txHash,
        metadata: { chain, userId: options.userId, address: options.address, txHash, blockHeight: options.blockHeight, blockHash: `0xblock${options.blockHeight}` },
        postings: [{ source: `world:${chain}`, destination: pendingAccount, asset: options.asset, amount: options.amount }],
      },
      ...(options.confirm
        ? [
            {
              kind: depositEntryKinds.confirmed,
              idempotencyKey: `${keyBase}:confirm@0xblock${options.blockHeight}`,
              metadata: { depositKey },
              postings: [{ source: pendingAccount, destination: chart.custody(chain, options.address), asset: options.asset, amount: options.amount }],
            },
          ]
        : []),
    ]),
  );
  return { pending: booked(pending), confirmed: options.confirm ? booked(confirmed) : null, txHash };
}

describe('deposit views', () => {
  test("a user's deposits, balances, CHOCO and a deposit's history from seen to swept", async () => {
    const user = await createUser(db.pool, { nearAccountId: `ann-${randomBytes(3).toString('hex')}.testnet` });
    const { address } = await getDepositAddress(db.pool, user.id, chain, derivation);
    const token = await deposit({ userId: user.id, address, asset: 'TUSDC', amount: 5_000_000n, blockHeight: 100, confirm: true });
    const eth = await deposit({ userId: user.id, address, asset: 'ETH', amount: 2n * 10n ** 17n, blockHeight: 104, confirm: false });
    assert.ok(token.confirmed);
    assert.equal((await creditDeposit(credits, token.confirmed.id)).status, 'credited');
    const sweepTx = `0x${randomBytes(32).toString('hex')}`;
    await run(
      db.pool,
      sqlBuilder.insertInto('sweeps').values({ deposit_entry_id: token.pending.id, user_id: user.id, chain, address, asset: 'TUSDC', amount: 5_000_000n, fee: 21_000n, status: 'confirmed', tx_hash: sweepTx }),
    );
    await run(db.pool, sqlBuilder.insertInto('indexer_cursors').values({ indexer: 'evm', chain, height: 100n, hash: '0xblock100', processed_height: 105n, chain_head: 105n, finality_depth: 3 }));
    await catchUp(db.pool, depositsProjection);

    const listed = await listUserDeposits(db.pool, user.id);
    assert.deepEqual(
      listed.map((d) => [d.entryId, d.asset, d.amount, d.status, d.blockHeight, d.confirmations, d.finalityDepth, d.txHash]),
      [
        [eth.pending.id, 'ETH', 2n * 10n ** 17n, 'pending', 104, 2, 3, eth.txHash],
        [token.pending.id, 'TUSDC', 5_000_000n, 'confirmed', 100, 6, 3, token.txHash],
      ],
    );
    assert.deepEqual((await listUserDeposits(db.pool, user.id, { before: eth.pending.id })).map((d) => d.entryId), [token.pending.id], 'the next page starts below the cursor');

    assert.deepEqual(await getUserBalances(db.pool, user.id), [
      { chain, asset: 'ETH', scale: 18, pending: 2n * 10n ** 17n, confirmed: 0n },
      { chain, asset: 'TUSDC', scale: 6, pending: 0n, confirmed: 5_000_000n },
    ]);
    // 5 TUSDC at $1, 100 CHOCO a dollar.
    assert.deepEqual(await getUserChoco(db.pool, user.id), { balance: 500n * 10n ** 18n, scale: 18 });

    const history = await getDepositHistory(db.pool, user.id, token.pending.id);
    assert.ok(history);
    assert.deepEqual([history.chain, history.address, history.asset, history.scale, history.amount, history.txHash, history.blockHeight], [chain, address, 'TUSDC', 6, 5_000_000n, token.txHash, 100]);
    assert.deepEqual(history.steps.map((s) => s.step), ['deposit', 'confirmed', 'credited', 'sweep']);
    const [, confirmedStep, credited, sweep] = history.steps;
    assert.equal(confirmedStep?.entryId, token.confirmed.id);
    assert.deepEqual([credited?.asset, credited?.scale, credited?.amount, credited?.pricing, credited?.rate], ['CHOCO', 18, 500n * 10n ** 18n, 'usd', '1']);
    assert.deepEqual([sweep?.status, sweep?.txHash, sweep?.amount, sweep?.fee], ['confirmed', sweepTx, 5_000_000n, 21_000n]);

    const pendingOnly = await getDepositHistory(db.pool, user.id, eth.pending.id);
    assert.deepEqual(pendingOnly?.steps.map((s) => s.step), ['deposit']);
    assert.equal(await getDepositHistory(db.pool, 'someone-else', token.pending.id), null, "another user's deposit is not found");
    assert.equal(await getDepositHistory(db.pool, user.id, token.confirmed.id), null, 'a confirmation is not a deposit');
  });

  test('a user without deposits sees none, no balances and zero CHOCO', async () => {
    const user = await createUser(db.pool, { nearAccountId: `bob-${randomBytes(3).toString('hex')}.testnet` });
    assert.deepEqual(await listUserDeposits(db.pool, user.id), []);
    assert.deepEqual(await getUserBalances(db.pool, user.id), []);
    assert.deepEqual(await getUserChoco(db.pool, user.id), { balance: 0n, scale: 18 });
  });
});
