// `coffer bench indexer`: blocks per second of the EVM indexer catching up over a chain with
// deposits, against the same processor with a store that writes nothing (same observation
// work, no database), both in the same run on the same anvil. Then, unless --quick, the same
// over ten times the blocks, to show peak RSS stays flat as the chain grows. Runs use the
// node flags the supervisor gives indexer processes in production.
import { fileURLToPath } from 'node:url';
import { createWalletClient, http, type Address, type Hex } from 'viem';
import { compareRuns, indexerBenchResult, indexerRunOnFreshDatabase, runBenchChild, type BenchContext, type BenchResult, type ChildRun } from '../../bench/index.ts';
import { deployContracts } from '../../contracts/index.ts';
import { startAnvil, type Anvil } from '../../devnets/index.ts';
import type { Pool } from '../../infra/index.ts';
import { registerAsset } from '../../ledger/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation, setUpTestToken, tokenAsset, tokenTransfer } from '../../testing/evm-world.ts';
import { indexerNodeFlags } from '../supervise.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const finalityDepth = 10;
const usersCount = 100;

function measure(store: 'noop' | 'ledger', env: NodeJS.ProcessEnv, to: number): Promise<ChildRun> {
  return runBenchChild(child, { label: `${store} indexer`, nodeFlags: indexerNodeFlags, env: { ...env, BENCH_STORE: store, BENCH_TO: String(to), SQD_LOG: 'error' } });
}

/**
 * Grows the chain to `height` with a deposit (ETH and token in turn) every `every` blocks; the
 * deposits' transaction hashes. anvil mines a sent transaction on its own schedule, so the last
 * one may land past `height`: what a run over a range must confirm is counted by block
 * (`depositsThrough`), never by how many were sent.
 */
async function buildChain(anvil: Anvil, height: number, every: number, deposit: (i: number) => Promise<Hex>, progress: (line: string) => void, sent = 0): Promise<Hex[]> {
  let head = Number(await anvil.rpc<string>('eth_blockNumber'));
  const hashes: Hex[] = [];
  let lastReport = Date.now();
  while (head < height) {
    hashes.push(await deposit(sent + hashes.length));
    const gap = Math.min(every - 1, height - head - 1);
    for (let left = gap; left > 0; left -= 100) await anvil.rpc('anvil_mine', [`0x${Math.min(left, 100).toString(16)}`]);
    head = Number(await anvil.rpc<string>('eth_blockNumber'));
    if (Date.now() - lastReport > 5_000) {
      progress(`chain at block ${head} of ${height}`);
      lastReport = Date.now();
    }
  }
  return hashes;
}

/** The block of each deposit (call once the chain is mined past them all). */
async function depositBlocks(anvil: Anvil, hashes: readonly Hex[]): Promise<number[]> {
  const blocks: number[] = [];
  for (const hash of hashes) {
    const receipt = await anvil.rpc<{ blockNumber: Hex; status: Hex } | null>('eth_getTransactionReceipt', [hash]);
    if (!receipt || receipt.status !== '0x1') throw new Error(`the bench's deposit ${hash} did not land (${receipt ? 'reverted' : 'no receipt'})`);
    blocks.push(Number(receipt.blockNumber));
  }
  return blocks;
}

const depositsThrough = (blocks: readonly number[], to: number) => blocks.filter((block) => block <= to).length;

/** Users with deposit addresses, and the token registered as an asset (a fresh database each time). */
async function prepare(pool: Pool, token: Address): Promise<Address[]> {
  await registerAsset(pool, { code: tokenAsset, scale: 6, chain: 'ethereum', contract: token.toLowerCase() });
  const addresses: Address[] = [];
  for (let i = 0; i < usersCount; i += 1) {
    const user = await createUser(pool, { nearAccountId: `bench-${i}.testnet` });
    const address = await getDepositAddress(pool, user.id, 'ethereum', derivation);
    addresses.push(address.address as Address);
  }
  return addresses;
}

export async function indexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const shortChain = 5_000;
  const longChain = 50_000;
  const anvil = await startAnvil();
  try {
    const contracts = await deployContracts({ rpcUrl: anvil.url });
    const funder = anvil.accounts[1]!;
    const wallet = createWalletClient({ account: funder, transport: http(anvil.url) });
    // Mints to the funder and registers the token in the bench's first database.
    await setUpTestToken(context.pool, anvil.url, contracts, funder, 10n ** 18n);
    const addresses = await prepare(context.pool, contracts.testToken);
    const deposit = (i: number) =>
      i % 2 === 0
        ? wallet.sendTransaction({ to: addresses[i % addresses.length]!, value: BigInt(1_000_000 + i), chain: null })
        : wallet.sendTransaction({ to: contracts.testToken, data: tokenTransfer(addresses[i % addresses.length]!, BigInt(1_000 + i)), chain: null });

    progress(`building ${shortChain} blocks with a deposit every 10 blocks`);
    const shortHashes = await buildChain(anvil, shortChain, 10, deposit, progress);
    // Past the range by the finality depth, so the whole range reads as finalized.
    await anvil.rpc('anvil_mine', [`0x${finalityDepth.toString(16)}`]);
    const shortBlocks = await depositBlocks(anvil, shortHashes);
    const shortDeposits = depositsThrough(shortBlocks, shortChain);
    const env = { ...process.env, EVM_RPC_URL: anvil.url, EVM_FINALITY_DEPTH: String(finalityDepth), BENCH_TOKEN: `${contracts.testToken}:${tokenAsset}` };
    const compare = (to: number, expectedDeposits: number, rounds: number) =>
      compareRuns(
        rounds,
        {
          baseline: () => measure('noop', { ...env, DATABASE_URL: context.url }, to),
          indexer: () => indexerRunOnFreshDatabase((pool) => prepare(pool, contracts.testToken), (url) => measure('ledger', { ...env, DATABASE_URL: url }, to), expectedDeposits),
        },
        (round, pair) => progress(`${to} blocks, round ${round}/${rounds}: no-op ${pair.baseline.blocksPerSec} blocks/s, ledger ${pair.indexer.blocksPerSec} blocks/s`),
      );

    const short = { ...(await compare(shortChain, shortDeposits, 3)), blocks: shortChain, deposits: shortDeposits };
    const notes = [
      `${shortDeposits} deposits over ${shortChain} blocks to ${usersCount} users; medians of 3 alternating runs, each in its own process (ledger on a fresh database); peak RSS is the highest of the runs`,
      'target: indexer_vs_noop >= 0.8; rss_50k_vs_5k near 1 (flat)',
    ];
    if (context.quick) return indexerBenchResult({ bench: 'indexer', baseline: 'noop', short, notes });
    progress(`growing the chain to ${longChain} blocks (a deposit every 100 blocks)`);
    const longHashes = await buildChain(anvil, longChain, 100, deposit, progress, shortHashes.length);
    await anvil.rpc('anvil_mine', [`0x${finalityDepth.toString(16)}`]);
    const longDeposits = depositsThrough([...shortBlocks, ...(await depositBlocks(anvil, longHashes))], longChain);
    const long = { ...(await compare(longChain, longDeposits, 1)), blocks: longChain, deposits: longDeposits };
    return indexerBenchResult({ bench: 'indexer', baseline: 'noop', short, long, notes });
  } finally {
    await anvil.stop();
  }
}
