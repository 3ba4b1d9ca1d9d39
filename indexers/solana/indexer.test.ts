// The Solana indexer against the devnet (manual slots): SOL and USDC deposits sent through the
// official client become pending at confirmed, confirmed at finalized, and a dropped slot
// reverses its pending deposit, also one the follower read ahead (while writing the batch
// before it) just before its slot was dropped. The follower runs in-process, one pass at a time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSolanaDevnet, type SolanaDevnet } from '../../devnets/index.ts';
import { createLogger } from '../../infra/index.ts';
import { LedgerWriter, getBalances } from '../../ledger/index.ts';
import { rootKeys } from '../../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { ChainFollower, type BlockSource, type FollowBatch } from '../core/index.ts';
import { solanaWallet, type SolanaWallet } from '../../testing/solana-wallet.ts';
import { registerSolanaTokens, solanaFollowSettings, solanaRpc, solanaTokens, SolanaBlockSource } from './index.ts';
import { loadConfig } from '../../infra/index.ts';

let devnet: SolanaDevnet;
let db: TestDatabase;
let wallet: SolanaWallet;
let follower: ChainFollower;
let address: string;
let source: SolanaBlockSource;
let settings: ReturnType<typeof solanaFollowSettings>;

const logger = createLogger({ level: 'warn' });

before(async () => {
  devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
  db = await createTestDatabase();
  wallet = await solanaWallet(devnet);
  const config = loadConfig({ DATABASE_URL: db.url, SOLANA_RPC_URL: devnet.rpcUrl, SOLANA_POLL_INTERVAL_MS: '50' });
  const rpc = solanaRpc(devnet.rpcUrl);
  const tokens = solanaTokens(config);
  await registerSolanaTokens(db.pool, rpc, tokens);
  const user = await createUser(db.pool, { nearAccountId: 'sol-ada.testnet' });
  address = (await getDepositAddress(db.pool, user.id, 'solana', { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: rootKeys.testnet })).address;
  source = new SolanaBlockSource({ rpc, tokens });
  settings = solanaFollowSettings(config, 0);
  follower = new ChainFollower({ pool: db.pool, writer: new LedgerWriter({ pool: db.pool, logger }), source, settings, logger });
  await follower.connect();
});

after(async () => {
  await devnet?.stop();
  await db?.drop();
});

/** Follows until caught up with the head; returns the passes' totals. */
async function catchUp(following = follower): Promise<{ deposits: number; confirmed: number; reversed: number }> {
  const total = { deposits: 0, confirmed: 0, reversed: 0 };
  for (let pass = 0; pass < 50; pass += 1) {
    const batch: FollowBatch | null = await following.step();
    if (!batch) return total;
    total.deposits += batch.deposits;
    total.confirmed += batch.confirmed;
    total.reversed += batch.reversed;
    if (batch.toHeight >= batch.head) return total;
  }
  throw new Error('the follower did not catch up in 50 passes');
}

const balance = async (account: string, asset: string) => (await getBalances(db.pool, { account, asset }))[0]?.balance ?? 0n;

describe('the Solana indexer', () => {
  test('SOL and USDC deposits: pending at confirmed, custody at finalized, a credit asked for each', async () => {
    await wallet.sendSol(address, 1_500_000_000n);
    await wallet.sendUsdc(address, 25_000_000n);
    devnet.produceSlots(1);
    assert.deepEqual(await catchUp(), { deposits: 2, confirmed: 0, reversed: 0 });
    assert.equal(await balance(`deposits:solana:${address}:pending`, 'SOL'), 1_500_000_000n);
    assert.equal(await balance(`deposits:solana:${address}:pending`, 'USDC'), 25_000_000n);
    const { rows } = await db.pool.query<{ idempotency_key: string; metadata: Record<string, unknown> }>("SELECT idempotency_key, metadata FROM journal_entries WHERE kind = 'deposit.pending' ORDER BY id");
    assert.match(rows[0]!.idempotency_key, /^solana:[1-9A-HJ-NP-Za-km-z]{64,88}:\d+:deposit@/);
    assert.match(rows[1]!.idempotency_key, /^solana:[1-9A-HJ-NP-Za-km-z]{64,88}:t\d+:deposit@/);
    assert.equal(rows[1]!.metadata.contract, devnet.tokens.USDC);

    devnet.produceSlots(40);
    assert.deepEqual(await catchUp(), { deposits: 0, confirmed: 2, reversed: 0 });
    assert.equal(await balance(`custody:solana:${address}`, 'SOL'), 1_500_000_000n);
    assert.equal(await balance(`custody:solana:${address}`, 'USDC'), 25_000_000n);
    const { rows: outbox } = await db.pool.query<{ n: bigint }>("SELECT count(*) AS n FROM outbox WHERE queue = 'credits'");
    assert.equal(Number(outbox[0]!.n), 2);
  });

  test('a dropped slot reverses the pending deposit in it; the same transfer is not seen again', async () => {
    await wallet.sendSol(address, 700_000_000n);
    const slot = devnet.slot();
    devnet.produceSlots(1);
    assert.deepEqual(await catchUp(), { deposits: 1, confirmed: 0, reversed: 0 });
    assert.equal(await balance(`deposits:solana:${address}:pending`, 'SOL'), 700_000_000n);

    assert.equal(devnet.dropSlot(slot).length, 1);
    devnet.produceSlots(2);
    assert.deepEqual(await catchUp(), { deposits: 0, confirmed: 0, reversed: 1 });
    assert.equal(await balance(`deposits:solana:${address}:pending`, 'SOL'), 0n);
    devnet.produceSlots(40);
    await catchUp();
    assert.equal(await balance(`custody:solana:${address}`, 'SOL'), 1_500_000_000n, 'custody holds only the finalized deposit');
  });

  test('a slot dropped after the follower read ahead into it: the deposit read there is reversed, never confirmed', async () => {
    // The same source, with each read's range and result visible to the test.
    const reads: { after: number; through: number; done: Promise<unknown> }[] = [];
    const watchedSource: BlockSource = {
      heads: () => source.heads(),
      hashAt: (height) => source.hashAt(height),
      blocks: (after, through) => {
        const done = source.blocks(after, through);
        reads.push({ after, through, done });
        return done;
      },
    };
    const readingAhead = new ChainFollower({ pool: db.pool, writer: new LedgerWriter({ pool: db.pool, logger }), source: watchedSource, settings, logger });
    await readingAhead.connect();
    const custodyBefore = await balance(`custody:solana:${address}`, 'SOL');
    devnet.produceSlots(150);
    await wallet.sendSol(address, 300_000_000n);
    const slot = devnet.slot();
    devnet.produceSlots(1);

    const first = await readingAhead.step();
    assert.ok(first && first.toHeight < slot, 'the first batch ends before the deposit');
    const ahead = reads.at(-1)!;
    assert.equal(ahead.after, first.toHeight, 'the next range was read while the first batch was written');
    assert.ok(ahead.through >= slot);
    await ahead.done;
    assert.equal(devnet.dropSlot(slot).length, 1);
    devnet.produceSlots(2);

    const second = await readingAhead.step();
    assert.equal(reads.length, 2, 'the second pass used the blocks read ahead, reading nothing again');
    assert.equal(second?.deposits, 1, 'the blocks read ahead still held the dropped slot');
    assert.deepEqual(await catchUp(readingAhead), { deposits: 0, confirmed: 0, reversed: 1 });
    devnet.produceSlots(40);
    await catchUp(readingAhead);
    assert.equal(await balance(`deposits:solana:${address}:pending`, 'SOL'), 0n);
    assert.equal(await balance(`custody:solana:${address}`, 'SOL'), custodyBefore, 'the dropped deposit never reached custody');
  });
});
