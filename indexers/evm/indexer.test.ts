import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWalletClient, encodeFunctionData, http, parseAbi } from 'viem';
import { createApiKey } from '../../access/index.ts';
import { createApp } from '../../api/index.ts';
import { silentLogger } from '../../infra/index.ts';
import { catchUp, depositsProjection, getBalances, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { deriveAddress } from '../../chains/index.ts';
import { listIndexerStatus } from '../status.ts';
import { createEvmWorld, derivation, eventually, tokenAsset, type EvmWorld } from '../../testing/evm-world.ts';

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
  let indexer: ReturnType<EvmWorld['startIndexer']>;
  before(async () => {
    world = await createEvmWorld({ finalityDepth });
    indexer = world.startIndexer();
  });
  after(async () => {
    await world?.close();
  });

  test('ETH and token deposits to derived addresses enter pending and confirm at the finality depth; other transfers are ignored', async () => {
    const alice = await world.newDepositor('alice');
    const stranger = world.anvil.accounts[5]!;
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
    assert.ok(status);
    assert.equal(status.indexer, 'evm');
    assert.equal(status.stoppedReason, null);
    assert.ok(status.finalizedHeight >= (await world.head()) - finalityDepth - 1);
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });

  test('a reorg that drops a deposit reverses it exactly once; a reorg that brings it back records it again', async () => {
    const bob = await world.newDepositor('bob');
    const amount = 5n * 10n ** 18n;
    await world.sendEth(bob.address, amount);
    const [first] = await eventually('bob\'s deposit', async () => {
      const rows = (await deposits(world)).filter((d) => d.user_id === bob.userId);
      return rows.length === 1 && rows;
    }, 20_000, indexer.output);

    // Same height, another transaction: the deposit's block is gone. A new block on top lets
    // the processor see the fork (anvil_reorg keeps the height).
    await world.anvil.rpc('anvil_reorg', [1, [[{ from: world.funder, to: world.anvil.accounts[6], value: '0x1' }, 0]]]);
    await world.mine(1);
    await eventually('the reversal', async () => (await deposits(world)).find((d) => d.entry_id === first!.entry_id)?.status === 'reverted', 20_000, indexer.output);
    assert.equal(await balance(world, `deposits:ethereum:${bob.address}:pending`, 'ETH'), 0n);

    // The deposit lands again, two blocks down: a new observation, a new pending entry.
    await world.anvil.rpc('anvil_reorg', [2, [[{ from: world.funder, to: bob.address, value: `0x${amount.toString(16)}` }, 0]]]);
    await world.mine(1);
    const again = await eventually('the deposit seen again', async () => {
      const rows = (await deposits(world)).filter((d) => d.user_id === bob.userId && d.status !== 'reverted');
      return rows.length === 1 && rows[0];
    }, 20_000, indexer.output);
    assert.notEqual(again.block_hash, first!.block_hash);

    await world.mine(finalityDepth + 1);
    await eventually('confirmed', async () => (await deposits(world)).find((d) => d.entry_id === again.entry_id)?.status === 'confirmed', 20_000, indexer.output);
    const bobs = (await deposits(world)).filter((d) => d.user_id === bob.userId);
    assert.deepEqual(bobs.map((d) => d.status), ['reverted', 'confirmed']);
    const { rows: reversals } = await world.db.pool.query<{ reverses: bigint }>("SELECT reverses FROM journal_entries WHERE kind = 'deposit.reversal'");
    assert.deepEqual(reversals.map((r) => r.reverses), [first!.entry_id], 'exactly one reversal, of the dropped deposit');
    // The ledger agrees with the chain.
    const onChain = BigInt(await world.anvil.rpc<string>('eth_getBalance', [bob.address, 'latest']));
    assert.equal(await balance(world, `custody:ethereum:${bob.address}`, 'ETH'), onChain);
    assert.equal(await balance(world, `deposits:ethereum:${bob.address}:pending`, 'ETH'), 0n);
  });

  test('rescan finds a deposit paid before its address was registered, once', async () => {
    const user = await world.newDepositor('early-bird');
    // The address the user will get, paid before anyone asks for it: derive it without storing.
    const { address } = deriveAddress({ chain: 'ethereum', network: 'testnet', bitcoinNetwork: 'regtest', predecessor: 'late.testnet', path: 'ethereum-1', root: derivation.roots.secp256k1 });
    await world.sendEth(address as `0x${string}`, 3n * 10n ** 17n);
    const paidAt = await world.head();
    await world.mine(finalityDepth + 2);
    await eventually('the indexer past the payment', async () => (await listIndexerStatus(world.db.pool))[0]!.finalizedHeight >= paidAt, 20_000, indexer.output);
    const late = await world.newDepositor('late');
    assert.equal(late.address, address);
    assert.equal((await deposits(world)).filter((d) => d.user_id === late.userId).length, 0, 'blocks already read are not read again by themselves');

    for (let run = 0; run < 2; run += 1) {
      const rescan = await world.cli(['indexer', 'rescan', '--chain', 'evm', '--from', '0']);
      assert.equal(rescan.code, 0, rescan.stderr);
    }
    const found = (await deposits(world)).filter((d) => d.user_id === late.userId);
    assert.deepEqual(found.map((d) => [d.amount, d.status]), [['300000000000000000', 'confirmed']]);
    assert.equal(user.address === address, false);
    assert.equal((await verifyLedger(world.db.pool)).ok, true);
  });

  test('records the EntryPoint\'s Deposited and Withdrawn events for the paymaster', async () => {
    const owner = createWalletClient({ account: world.contracts.deployer, transport: http(world.anvil.url) });
    const paymasterAbi = parseAbi(['function deposit() payable', 'function withdrawTo(address withdrawAddress, uint256 amount)']);
    const to = world.anvil.accounts[8]!;
    await owner.sendTransaction({ to: world.contracts.paymaster, data: encodeFunctionData({ abi: paymasterAbi, functionName: 'deposit' }), value: 10n ** 16n, chain: null });
    await owner.sendTransaction({ to: world.contracts.paymaster, data: encodeFunctionData({ abi: paymasterAbi, functionName: 'withdrawTo', args: [to, 4n * 10n ** 15n] }), chain: null });
    const events = await eventually('both events', async () => {
      const { rows } = await world.db.pool.query<{ contract: string; event: string; args: Record<string, unknown>; orphaned: boolean }>(
        'SELECT contract, event, args, orphaned FROM evm_contract_events ORDER BY block_height, log_index',
      );
      return rows.length === 2 && rows;
    }, 20_000, indexer.output);
    const paymaster = world.contracts.paymaster.toLowerCase();
    assert.deepEqual(events.map((e) => [e.contract, e.event, e.orphaned]), [
      [world.contracts.entryPoint.toLowerCase(), 'Deposited', false],
      [world.contracts.entryPoint.toLowerCase(), 'Withdrawn', false],
    ]);
    assert.equal(String(events[0]!.args.account).toLowerCase(), paymaster);
    assert.equal(events[0]!.args.totalDeposit, (10n ** 16n).toString());
    assert.equal(String(events[1]!.args.withdrawAddress).toLowerCase(), to.toLowerCase());
    assert.equal(events[1]!.args.amount, (4n * 10n ** 15n).toString());
  });

  test('deposits, balances and indexer lag through the API', async () => {
    const writer = new LedgerWriter({ pool: world.db.pool });
    const app = createApp({ pool: world.db.pool, writer, logger: silentLogger, derivation });
    const operator = (await createApiKey(world.db.pool, { role: 'operator' })).key;
    const carol = await world.newDepositor('carol');
    const carolKey = (await createApiKey(world.db.pool, { role: 'user', userId: carol.userId })).key;
    const get = async (path: string, key = operator) => {
      const response = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    await world.sendToken(carol.address, 1_500_000n);
    const pending = await eventually('carol\'s pending deposit', async () => {
      await catchUp(world.db.pool, depositsProjection);
      const { body } = await get(`/v1/users/${carol.userId}/deposits`, carolKey);
      const list = body.data as { status: string; confirmations: number }[];
      return list.length === 1 && body;
    }, 20_000, indexer.output);
    const [deposit] = pending.data as Record<string, unknown>[];
    assert.equal(deposit!.asset, tokenAsset);
    assert.equal(deposit!.amount, '1500000');
    assert.equal(deposit!.formatted, '1.5');
    assert.equal(deposit!.status, 'pending');
    assert.equal(typeof deposit!.tx, 'string');
    assert.ok((deposit!.confirmations as number) >= 1 && (deposit!.confirmations as number) <= finalityDepth);
    const before = await get(`/v1/users/${carol.userId}/balances`, carolKey);
    assert.deepEqual(before.body.balances, [{ chain: 'ethereum', asset: tokenAsset, pending: '1500000', confirmed: '0', pendingFormatted: '1.5', confirmedFormatted: '0' }]);

    await world.mine(finalityDepth + 1);
    await eventually('confirmed through the API', async () => {
      await catchUp(world.db.pool, depositsProjection);
      const { body } = await get(`/v1/users/${carol.userId}/deposits`);
      return (body.data as { status: string }[])[0]?.status === 'confirmed';
    }, 20_000, indexer.output);
    const afterBalances = await get(`/v1/users/${carol.userId}/balances`);
    assert.deepEqual(afterBalances.body.balances, [{ chain: 'ethereum', asset: tokenAsset, pending: '0', confirmed: '1500000', pendingFormatted: '0', confirmedFormatted: '1.5' }]);

    // Someone else's key sees nothing of carol's.
    const dave = await world.newDepositor('dave');
    const daveKey = (await createApiKey(world.db.pool, { role: 'user', userId: dave.userId })).key;
    assert.equal((await get(`/v1/users/${carol.userId}/deposits`, daveKey)).status, 404);
    assert.equal((await get('/v1/admin/indexers', carolKey)).status, 403);

    const indexers = await eventually('the head recorded', async () => {
      const { body } = await get('/v1/admin/indexers');
      const [row] = body.indexers as { chainHead: number | null; lag: number | null; status: string }[];
      return row && row.chainHead !== null && row.chainHead >= (await world.head()) && row;
    });
    assert.equal(indexers.status, 'running');
    assert.ok(indexers.lag !== null && indexers.lag >= 0);
    const metrics = await (await app.request('/metrics')).text();
    assert.match(metrics, /coffer_indexer_lag_blocks\{indexer="evm",chain="ethereum"\} \d+/);
    assert.match(metrics, /coffer_indexer_stopped\{indexer="evm",chain="ethereum"\} 0/);
    await writer.close();
  });
});
