import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../infra/index.ts';
import { createEvmWorld, eventually, type EvmWorld } from '../testing/evm-world.ts';
import { superviseIndexer } from './supervise.ts';

async function pendingDeposits(world: EvmWorld): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: bigint }>("SELECT count(*) AS n FROM journal_entries WHERE kind = 'deposit.pending'");
  return Number(rows[0]!.n);
}

describe('the indexer supervisor (coffer start --indexers evm)', () => {
  let world: EvmWorld;
  before(async () => {
    world = await createEvmWorld({ finalityDepth: 2 });
  });
  after(async () => {
    await world?.close();
  });

  test('restarts a crashed indexer, and leaves a stopped one stopped', async () => {
    const gina = await world.newDepositor('gina');
    const supervised = superviseIndexer({ indexer: 'evm', pool: world.db.pool, logger: silentLogger, env: world.env });
    try {
      await world.sendEth(gina.address, 1_000n);
      await eventually('the first deposit', async () => (await pendingDeposits(world)) === 1);
      const first = supervised.pid();
      assert.ok(first);
      process.kill(first, 'SIGKILL');
      await eventually('a new indexer process', () => Promise.resolve(supervised.pid() !== null && supervised.pid() !== first));
      assert.equal(supervised.restarts(), 1);
      await world.sendEth(gina.address, 2_000n);
      await eventually('the second deposit, read by the restarted process', async () => (await pendingDeposits(world)) === 2);

      // A stop on purpose (what a deep reorg records) is not undone by restarting.
      await world.db.pool.query("UPDATE indexer_cursors SET stopped_reason = 'test: stopped by an operator' WHERE indexer = 'evm'");
      const stopped = supervised.pid();
      assert.ok(stopped);
      process.kill(stopped, 'SIGKILL');
      // The supervisor decides after the exit; a restart would show as 'restarting' and never reach 'held'.
      await eventually('the supervisor holds the stopped indexer', () => Promise.resolve(supervised.state() === 'held'));
      assert.equal(supervised.pid(), null, 'no new process');
      assert.equal(supervised.restarts(), 1);
    } finally {
      await supervised.stop();
    }
  });
});
