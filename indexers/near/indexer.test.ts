// The NEAR MVP's deposit side end to end (issue #21, seed 004): near-api-js drives the NEAR devnet,
// the NEAR indexer follows it in this process (one step at a time, blocks produced by hand so the
// pending → final order is observable), and the credit job decides each confirmed deposit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Account, JsonRpcProvider, KeyPair, nearToYocto, teraToGas } from 'near-api-js';
import { startNearDevnet, ftStorageDepositYocto, type NearDevnet } from '../../devnets/near/index.ts';
import { createApiKey } from '../../access/index.ts';
import { createApp } from '../../api/index.ts';
import { depositHistory } from '../../api/responses.ts';
import { silentLogger } from '../../infra/index.ts';
import { creditDeposit, PriceSource, type CreditContext } from '../../credits/index.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal, parseNativeMinimums } from '../../credits/valuation.ts';
import { LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { ChainFollower } from '../core/index.ts';
import { nearRpc } from './rpc.ts';
import { nearSettings, registerNearTokens, watchedNearAccounts } from './run.ts';
import { NearBlockSource } from './source.ts';

const yocto = 10n ** 24n;
const choco = 10n ** 18n;
const settleStepsMax = 50;

describe('NEAR deposits and the MVP credit rules', () => {
  let devnet: NearDevnet;
  let db: TestDatabase;
  let writer: LedgerWriter;
  let follower: ChainFollower;
  let faucet: Account;
  let credits: CreditContext;
  let userId: string;
  const userKey = KeyPair.fromRandom('ed25519');
  const account = Buffer.from(userKey.getPublicKey().data).toString('hex');

  /** Produces blocks until near-api-js's call has its answer (blocks never come on their own here). */
  async function land<T>(sending: Promise<T>): Promise<T> {
    let settled = false;
    const done = sending.finally(() => (settled = true));
    for (let blocks = 0; !settled; blocks += 1) {
      if (blocks > 100) throw new Error('the transaction had no answer after 100 blocks');
      devnet.produceBlocks(1);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    return done;
  }

  /** Steps the follower until it has read the head. */
  async function follow(): Promise<void> {
    for (let step = 0; step < settleStepsMax; step += 1) {
      const batch = await follower.step();
      if (!batch || batch.toHeight >= batch.head) return;
    }
    throw new Error(`the indexer did not reach the head in ${settleStepsMax} steps`);
  }

  const deposits = async () =>
    (
      await db.pool.query<{ kind: string; asset: string; amount: string; key: string; receipt: string | null }>(
        `SELECT e.kind, s.code AS asset, p.amount::text, e.idempotency_key AS key, e.metadata->>'receiptId' AS receipt
           FROM journal_entries e JOIN postings p ON p.entry_id = e.id AND p.posting_index = 0 JOIN assets s ON s.id = p.asset_id
          WHERE e.kind LIKE 'deposit.%' ORDER BY e.id`,
      )
    ).rows;

  /** Runs the credit job for every credit the indexer asked for, as the worker would. */
  async function runCredits() {
    const { rows } = await db.pool.query<{ payload: { confirmationEntryId: string } }>("SELECT payload FROM outbox WHERE name = 'credit-deposit' ORDER BY id");
    return Promise.all(rows.map((row) => creditDeposit(credits, BigInt(row.payload.confirmationEntryId))));
  }

  before(async () => {
    devnet = await startNearDevnet({ blocks: { intervalMs: 3_600_000 } });
    db = await createTestDatabase();
    writer = new LedgerWriter({ pool: db.pool, logger: silentLogger });
    const rpc = nearRpc(devnet.rpcUrl);
    const tokens = new Map([[devnet.tokens.USDC, 'USDC']]);
    const [usdc] = await registerNearTokens(db.pool, rpc, tokens);
    assert.deepEqual(usdc, { code: 'USDC', scale: 6, chain: 'near', contract: devnet.tokens.USDC }, 'scale from ft_metadata');
    const source = new NearBlockSource({ rpc, tokens, watched: watchedNearAccounts(db.pool) });
    follower = new ChainFollower({ pool: db.pool, writer, source, settings: nearSettings({ NEAR_POLL_INTERVAL_MS: 100 }), logger: silentLogger });
    await follower.connect();
    credits = {
      pool: db.pool,
      writer,
      // Never asked: NEAR and USDC have fixed rates here.
      prices: new PriceSource({ db: db.pool, hermesUrl: 'http://127.0.0.1:9', limits: { maxAgeSeconds: 60, maxConfBps: 200 } }),
      settings: {
        pricing: parseAssetPricing('NEAR=choco:5000,USDC=usd:1'),
        minimumsUsd: parseChainMinimums('near=0'),
        minimumsNative: parseNativeMinimums('near=0.01'),
        chocoPerUsd: parseDecimal('100', 'test'),
        sweepChains: new Set(),
      },
    };
    faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
    userId = (await createUser(db.pool, { nearAccountId: account })).id;
    assert.equal((await getDepositAddress(db.pool, userId, 'near', derivation)).address, account, 'the deposit address is the user\'s own account');
  });
  after(async () => {
    await writer?.close();
    await db?.drop();
    await devnet?.stop();
  });

  test('1.5 NEAR is pending, then confirmed at final, then credited 7,500 CHOCO', async () => {
    await land(faucet.transfer({ receiverId: account, amount: nearToYocto('1.5') }));
    await follow();
    const seen = await deposits();
    assert.deepEqual(seen.map((d) => [d.kind, d.asset, d.amount]), [['deposit.pending', 'NEAR', (15n * yocto / 10n).toString()]], 'pending while its block is not final');
    assert.match(seen[0]!.key, /^near:[1-9A-HJ-NP-Za-km-z]+:deposit@/, 'keyed by the receipt id');
    devnet.produceBlocks(3);
    await follow();
    assert.deepEqual((await deposits()).map((d) => d.kind), ['deposit.pending', 'deposit.confirmed']);
    const [outcome] = await runCredits();
    assert.equal(outcome?.status, 'credited');
    assert.equal(outcome.status === 'credited' && outcome.choco, 7_500n * choco);
  });

  test('0.009 NEAR is recorded, not credited, with the reason; a gas refund from system is no deposit', async () => {
    await land(faucet.transfer({ receiverId: account, amount: nearToYocto('0.009') }));
    // The user's own call: unused gas comes back to the user from `system`.
    const user = new Account(account, new JsonRpcProvider({ url: devnet.rpcUrl }), userKey.toString());
    const called = (await land(user.callFunctionRaw({ contractId: devnet.tokens.USDC, methodName: 'ft_balance_of', args: { account_id: account }, gas: teraToGas('30') }))) as unknown as { transaction: { hash: string } };
    devnet.produceBlocks(3);
    const tree = await nearRpc(devnet.rpcUrl)<{ receipts: { predecessor_id: string; receiver_id: string }[] }>('EXPERIMENTAL_tx_status', { tx_hash: called.transaction.hash, sender_account_id: account, wait_until: 'FINAL' });
    assert.ok(tree.receipts.some((r) => r.predecessor_id === 'system' && r.receiver_id === account), 'the chain did refund gas to the user');
    await follow();
    const confirmed = (await deposits()).filter((d) => d.kind === 'deposit.confirmed');
    assert.deepEqual(confirmed.map((d) => d.amount), [(15n * yocto / 10n).toString(), (9n * yocto / 1000n).toString()], 'two NEAR deposits; the refund is not one');
    const outcomes = await runCredits();
    const small = outcomes.find((o) => o.status === 'below_minimum');
    assert.equal(small?.status === 'below_minimum' && small.reason, '0.009 NEAR is below the near minimum of 0.01 NEAR (CREDIT_MINIMUM_NATIVE)');
    const { rows } = await db.pool.query<{ status: string; reason: string | null }>("SELECT status, reason FROM credit_decisions WHERE asset = 'NEAR' ORDER BY confirmation_entry_id");
    assert.deepEqual(rows.map((r) => r.status), ['credited', 'below_minimum']);
  });

  test('a NEP-141 deposit is credited at its configured price; an ft_transfer_call refunded in full is none', async () => {
    await land(faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'storage_deposit', args: { account_id: account }, deposit: ftStorageDepositYocto }));
    await land(faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'ft_transfer', args: { receiver_id: account, amount: '2500000' }, deposit: 1n }));
    // The user's account has no contract: ft_on_transfer fails and ft_resolve_transfer gives it all back.
    await land(faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'ft_transfer_call', args: { receiver_id: account, amount: '1000000', msg: '' }, deposit: 1n, gas: teraToGas('100') }));
    devnet.produceBlocks(3);
    await follow();
    const usdc = (await deposits()).filter((d) => d.asset === 'USDC');
    assert.deepEqual(usdc.map((d) => [d.kind, d.amount]), [['deposit.pending', '2500000'], ['deposit.confirmed', '2500000']]);
    assert.match(usdc[0]!.key, /^near:[1-9A-HJ-NP-Za-km-z]+:0:deposit@/, 'receipt id and event index');
    const credited = (await runCredits()).filter((o) => o.status === 'credited');
    assert.deepEqual(credited.map((o) => o.status === 'credited' && o.choco), [250n * choco], '2.5 USDC at $1 and 100 CHOCO per USD');
    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, true, JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  });

  test('each deposit\'s history is readable by its user and by auditors, through the API', async () => {
    const app = createApp({ pool: db.pool, writer, logger: silentLogger });
    const userKey = (await createApiKey(db.pool, { role: 'user', userId })).key;
    const auditorKey = (await createApiKey(db.pool, { role: 'auditor' })).key;
    const read = async (entryId: string, key: string) => {
      const response = await app.request(`/v1/users/${userId}/deposits/${entryId}`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.status, 200, await response.clone().text());
      return depositHistory.parse(await response.json());
    };
    const pending = (await deposits()).filter((d) => d.kind === 'deposit.pending');
    const ids = (await db.pool.query<{ id: string }>("SELECT id::text FROM journal_entries WHERE kind = 'deposit.pending' ORDER BY id")).rows.map((r) => r.id);
    assert.equal(ids.length, pending.length);

    const big = await read(ids[0]!, userKey);
    assert.deepEqual(big.steps.map((s) => s.step), ['deposit', 'confirmed', 'credited']);
    assert.equal(big.formatted, '1.5');
    assert.match(big.txHash ?? '', /^[1-9A-HJ-NP-Za-km-z]{43,44}$/, 'the NEAR transaction hash');
    const credit = big.steps[2]!;
    assert.deepEqual([credit.asset, credit.formatted, credit.pricing, credit.rate], ['CHOCO', '7500', 'choco', '5000']);

    const small = await read(ids[1]!, auditorKey);
    assert.deepEqual(small.steps.map((s) => [s.step, s.reason]), [['deposit', null], ['confirmed', null], ['not_credited', '0.009 NEAR is below the near minimum of 0.01 NEAR (CREDIT_MINIMUM_NATIVE)']]);
    const token = await read(ids[2]!, userKey);
    assert.deepEqual([token.asset, token.formatted, token.steps.at(-1)!.formatted, token.steps.at(-1)!.rate], ['USDC', '2.5', '250', '1']);

    const other = (await createUser(db.pool, { nearAccountId: 'someone.devnet' })).id;
    const foreign = await app.request(`/v1/users/${other}/deposits/${ids[0]}`, { headers: { authorization: `Bearer ${auditorKey}` } });
    assert.equal(foreign.status, 404, 'a deposit is only found under its own user');
  });
});
