import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catchUp, depositsProjection, getBalances, verifyLedger } from '../../ledger/index.ts';
import { listIndexerStatus } from '../status.ts';
import { createEvmWorld, eventually, tokenAsset, type EvmWorld } from './harness.ts';

const finalityDepth = 3;

interface DepositRow {
  entry_id: bigint;
  user_id: string;
  asset: string;
  amount: string;
  tx_hash: string;
  status: string;
  block_hash: string;
}

async function deposits(world: EvmWorld): Promise<DepositRow[]> {
  await catchUp(world.db.pool, depositsProjection);
  const { rows } = await world.db.pool.query<DepositRow>('SELECT entry_id, user_id, asset, amount::text, tx_hash, status, block_hash FROM deposits ORDER BY entry_id');
  return rows;
}

async function balance(world: EvmWorld, account: string, asset: string): Promise<bigint> {
  const rows = await getBalances(world.db.pool, { account, asset });
  return rows.find((row) => row.asset === asset)?.balance ?? 0n;
}

async function countKind(world: EvmWorld, kind: string): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM journal_entries WHERE kind = $1', [kind]);
  return Number(rows[0]!.n);
}

describe('EVM deposit indexer', () => {
  let world: EvmWorld;
  before(async () => {
    world = await createEvmWorld({ finalityDepth });
  });
  after(async () => {
    await world?.close();
  });

  test('ETH and token deposits to derived addresses enter pending and confirm at the finality depth; other transfers are ignored', async () => {
    const alice = await world.newDepositor('alice');
    const stranger = world.anvil.accounts[5]!;
    const indexer = world.startIndexer();
    await world.sendEth(stranger, 7n);
    await world.sendToken(stranger, 9n);
    // anvil mines a block per transaction: these two blocks stay below the finality depth.
    const ethTx = await world.sendEth(alice.address, 10n ** 18n);
    const tokenTx = await world.sendToken(alice.address, 25_000_000n);

    const seen = await eventually('both deposits pending', async () => {
      const rows = await deposits(world);
      return rows.length === 2 && rows;
    }, 20_000, indexer.output);
    assert.deepEqual(
      seen.map((d) => [d.asset, d.amount, d.tx_hash, d.status, d.user_id]).sort(),
      [
        ['ETH', '1000000000000000000', ethTx, 'pending', alice.userId],
        [tokenAsset, '25000000', tokenTx, 'pending', alice.userId],
      ].sort(),
    );
    const pendingAccount = `deposits:ethereum:${alice.address}:pending`;
    assert.equal(await balance(world, pendingAccount, 'ETH'), 10n ** 18n);
    assert.equal(await balance(world, `custody:ethereum:${alice.address}`, 'ETH'), 0n);

    await world.mine(finalityDepth + 1);
    await eventually('deposits confirmed', async () => (await deposits(world)).every((d) => d.status === 'confirmed'), 20_000, indexer.output);
    assert.equal(await balance(world, `custody:ethereum:${alice.address}`, 'ETH'), 10n ** 18n);
    assert.equal(await balance(world, `custody:ethereum:${alice.address}`, tokenAsset), 25_000_000n);
    assert.equal(await balance(world, pendingAccount, 'ETH'), 0n);
    assert.equal(await countKind(world, 'deposit.pending'), 2);
    assert.equal(await countKind(world, 'deposit.confirmed'), 2);

    const [status] = await listIndexerStatus(world.db.pool);
    assert.equal(status?.indexer, 'evm');
    assert.equal(status?.stoppedReason, null);
    assert.ok(status!.finalizedHeight >= (await world.head()) - finalityDepth - 1);
    await indexer.stop();
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });
});
