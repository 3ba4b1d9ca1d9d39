// The indexer across crashes and deep reorgs, run as a child process the way production runs it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catchUp, depositsProjection, getBalances, verifyLedger } from '../../ledger/index.ts';
import { listIndexerStatus } from '../status.ts';
import { createEvmWorld, eventually, tokenAsset, type EvmWorld } from '../../testing/evm-world.ts';

async function countKind(world: EvmWorld, kind: string): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM journal_entries WHERE kind = $1', [kind]);
  return Number(rows[0]!.n);
}

describe('EVM indexer: SIGKILL mid-batch', () => {
  const finalityDepth = 5;
  let world: EvmWorld;
  before(async () => {
    world = await createEvmWorld({ finalityDepth });
  });
  after(async () => {
    await world?.close();
  });

  test('killed with SIGKILL while writing and restarted, it leaves exactly one entry per deposit', async () => {
    const users = await Promise.all(['kim', 'lee', 'park'].map((name) => world.newDepositor(name)));
    const txs: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      const to = users[i % users.length]!.address;
      txs.push(i % 2 === 0 ? await world.sendEth(to, BigInt(1_000 + i)) : await world.sendToken(to, BigInt(2_000 + i)));
      // Spread the deposits over many blocks so batches are busy when the kill lands.
      await world.mine(20);
    }
    const pendingCount = () => countKind(world, 'deposit.pending');

    // Kill it three times, each time once it has written more than before and while one of its
    // batch transactions is open in PostgreSQL: the kill lands mid-batch.
    const transactionOpen = async () => {
      const { rows } = await world.db.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'coffer-indexer-evm' AND xact_start IS NOT NULL AND state <> 'idle'",
      );
      return rows.length > 0;
    };
    let killedMidTransaction = 0;
    for (const threshold of [1, 15, 35]) {
      const run = world.startIndexer();
      await eventually(`more than ${threshold} deposits written`, async () => (await pendingCount()) >= threshold, 30_000, run.output);
      const moment = await eventually('a batch transaction open', async () => ((await transactionOpen()) ? 'open' : run.child.exitCode !== null && 'exited'), 10_000, run.output, 2).catch(() => 'idle');
      run.child.kill('SIGKILL');
      await run.exited;
      if (moment === 'open') killedMidTransaction += 1;
    }
    assert.ok(killedMidTransaction >= 1, 'at least one kill landed inside a batch transaction');

    const final = world.startIndexer();
    await world.mine(finalityDepth + 1);
    await eventually('every deposit confirmed', async () => (await countKind(world, 'deposit.confirmed')) === txs.length, 30_000, final.output);
    await final.stop();

    const { rows } = await world.db.pool.query<{ source_ref: string; n: bigint }>(
      "SELECT source_ref, count(*) AS n FROM journal_entries WHERE kind = 'deposit.pending' GROUP BY source_ref",
    );
    assert.equal(rows.length, txs.length, 'every deposit transaction has a pending entry');
    assert.ok(rows.every((row) => row.n === 1n), 'and only one');
    assert.equal(await countKind(world, 'deposit.confirmed'), txs.length);
    assert.deepEqual(new Set(rows.map((row) => row.source_ref)), new Set(txs));
    const { rows: open } = await world.db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM indexer_open_deposits');
    assert.equal(open[0]!.n, 0n);
    const custody = await getBalances(world.db.pool, { account: 'custody:ethereum:*' });
    const total = (asset: string) => custody.filter((row) => row.asset === asset).reduce((sum, row) => sum + row.balance, 0n);
    const expected = (parity: number, base: number) => Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 2 === parity).reduce((sum, i) => sum + BigInt(base + i), 0n);
    assert.equal(total('ETH'), expected(0, 1_000));
    assert.equal(total(tokenAsset), expected(1, 2_000));
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });
});

describe('EVM indexer: a reorg deeper than the finality depth', () => {
  const finalityDepth = 2;
  let world: EvmWorld;
  before(async () => {
    world = await createEvmWorld({ finalityDepth });
  });
  after(async () => {
    await world?.close();
  });

  test('stops the indexer with a clear reason; rewind reverses what the chain lost and the indexer recovers', async () => {
    const erin = await world.newDepositor('erin');
    const frank = await world.newDepositor('frank');
    const indexer = world.startIndexer();
    await world.sendEth(frank.address, 4_000n); // stays on the chain
    const keptAt = await world.head();
    await world.mine(3);
    await world.sendEth(erin.address, 7_000n); // the deep reorg takes this one
    const lostAt = await world.head();
    await world.mine(finalityDepth + 2);
    await eventually('both deposits confirmed', async () => (await countKind(world, 'deposit.confirmed')) === 2, 20_000, indexer.output);

    // Replace every block from the lost deposit's on: deeper than the finality depth.
    const depth = (await world.head()) - lostAt + 1;
    assert.ok(depth > finalityDepth);
    await world.anvil.rpc('anvil_reorg', [depth, [[{ from: world.funder, to: world.anvil.accounts[7], value: '0x1' }, 0]]]);
    await world.mine(2);

    // The processor dies on the fork; started again, it refuses and says why.
    let code = await Promise.race([indexer.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000))]);
    if (code === 'running') code = await indexer.stop();
    let stopped = (await listIndexerStatus(world.db.pool))[0]!.stoppedReason;
    if (!stopped) {
      const again = world.startIndexer();
      code = await again.exited;
      stopped = (await listIndexerStatus(world.db.pool))[0]!.stoppedReason;
      assert.match(again.output(), /deeper than the finality depth/);
    }
    assert.notEqual(code, 0);
    assert.match(stopped ?? '', /reorg deeper than the finality depth \(2 blocks\).*coffer indexer rewind --chain evm --to/);
    const refused = world.startIndexer();
    assert.equal(await refused.exited, 3, 'a stopped indexer refuses to start');
    assert.match(refused.output(), /deeper than the finality depth/);

    const rewind = await world.cli(['indexer', 'rewind', '--chain', 'evm', '--to', String(keptAt), '--json']);
    assert.equal(rewind.code, 0, rewind.stderr);
    const report = JSON.parse(rewind.stdout) as { depositsReversed: number; confirmationsReversed: number; depositsKept: number };
    assert.deepEqual([report.depositsReversed, report.confirmationsReversed], [1, 1]);
    // The reversed confirmation asks, in the rewind's own transaction, for its credit to be taken back.
    const { rows: asked } = await world.db.pool.query<{ name: string; payload: { confirmationEntryId: string } }>(
      "SELECT name, payload FROM outbox WHERE name = 'credit-reversal'",
    );
    assert.equal(asked.length, 1);
    const { rows: reversedConfirmation } = await world.db.pool.query<{ reverses: bigint }>(
      "SELECT reverses FROM journal_entries WHERE kind = 'deposit.confirmation_reversal'",
    );
    assert.equal(asked[0]!.payload.confirmationEntryId, reversedConfirmation[0]!.reverses.toString());

    const recovered = world.startIndexer();
    await world.mine(finalityDepth + 1);
    const head = await world.head();
    await eventually('the indexer past the fork', async () => (await listIndexerStatus(world.db.pool))[0]!.finalizedHeight >= head - finalityDepth, 20_000, recovered.output);
    await recovered.stop();

    await catchUp(world.db.pool, depositsProjection);
    const { rows } = await world.db.pool.query<{ user_id: string; status: string }>('SELECT user_id, status FROM deposits ORDER BY entry_id');
    assert.deepEqual(rows.map((r) => [r.user_id, r.status]), [[frank.userId, 'confirmed'], [erin.userId, 'reverted']]);
    for (const who of [erin, frank]) {
      const onChain = BigInt(await world.anvil.rpc<string>('eth_getBalance', [who.address, 'latest']));
      const [custody] = await getBalances(world.db.pool, { account: `custody:ethereum:${who.address}`, asset: 'ETH' });
      assert.equal(custody?.balance ?? 0n, onChain, `${who.address}: the ledger agrees with the chain`);
    }
    const verify = await world.cli(['verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /every invariant holds/);
  });
});
