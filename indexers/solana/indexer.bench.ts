// `coffer bench indexer --chain solana`: slots per second of the Solana indexer (the
// `ChainFollower` over `SolanaBlockSource`, writing the ledger on a fresh database) catching up
// over a devnet chain whose slots carry deposits (SOL and USDC to watched addresses), against a
// bare loop that only fetches and decodes the same blocks through the same source and writes
// nothing, alternating in the same run on the same devnet. Each run is a process of its own
// (`bench-child.ts`, with the node flags the supervisor gives indexer processes), so its peak
// RSS is the indexer's; the LiteSVM devnet and its blocks stay in this process. Then, unless
// --quick, the same over ten times the slots, to show peak RSS stays flat as the chain grows.
import { fileURLToPath } from 'node:url';
import { compareRuns, indexerBenchResult, indexerRunOnFreshDatabase, runBenchChild, type BenchContext, type BenchResult, type ChildRun } from '../../bench/index.ts';
import { startSolanaDevnet, type SolanaDevnet } from '../../devnets/index.ts';
import { loadConfig, type Pool } from '../../infra/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { solanaWallet, type SolanaWallet } from '../../testing/solana-wallet.ts';
import { indexerNodeFlags } from '../supervise.ts';
import { solanaRpc } from './rpc.ts';
import { registerSolanaTokens, solanaTokens } from './run.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const usersCount = 20;
/** One deposit every this many slots: most slots carry one. */
const depositEverySlots = 2;
/** Past the last deposit, so every deposit is finalized (finalized trails by 32 slots). */
const finalitySlots = 40;

function measure(store: 'bare' | 'ledger', env: NodeJS.ProcessEnv, from: number, through: number): Promise<ChildRun> {
  return runBenchChild(child, { label: store, nodeFlags: indexerNodeFlags, env: { ...env, BENCH_STORE: store, BENCH_FROM: String(from), BENCH_TO: String(through) } });
}

/** Closes `slots` slots with a deposit in every `depositEverySlots`-th (SOL, every tenth USDC; no two alike); returns how many. */
async function buildSlots(devnet: SolanaDevnet, wallet: SolanaWallet, addresses: string[], slots: number, firstDeposit: number, progress: (line: string) => void): Promise<number> {
  let deposits = 0;
  let lastReport = Date.now();
  for (let slot = 0; slot < slots; slot += 1) {
    if (slot % depositEverySlots === 0) {
      const i = firstDeposit + deposits;
      const to = addresses[i % addresses.length]!;
      if (i % 10 === 9) await wallet.sendUsdc(to, BigInt(1_000_000 + i));
      else await wallet.sendSol(to, BigInt(10_000_000 + i));
      deposits += 1;
    }
    devnet.produceSlots(1);
    if (Date.now() - lastReport > 5_000) {
      progress(`chain: ${slot + 1} of ${slots} slots`);
      lastReport = Date.now();
    }
  }
  return deposits;
}

export async function solanaIndexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const shortSlots = context.quick ? 1_000 : 5_000;
  const longSlots = 50_000;
  const devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
  try {
    const config = loadConfig({ DATABASE_URL: context.url, SOLANA_RPC_URL: devnet.rpcUrl });
    const rpc = solanaRpc(devnet.rpcUrl);
    const prepare = async (pool: Pool) => {
      await registerSolanaTokens(pool, rpc, solanaTokens(config));
      const addresses: string[] = [];
      for (let i = 0; i < usersCount; i += 1) {
        const user = await createUser(pool, { nearAccountId: `bench-sol-${i}.testnet` });
        addresses.push((await getDepositAddress(pool, user.id, 'solana', derivation)).address);
      }
      return addresses;
    };
    const addresses = await prepare(context.pool);
    const wallet = await solanaWallet(devnet);
    const start = devnet.slot();
    const env = { ...process.env, SOLANA_RPC_URL: devnet.rpcUrl };
    const compare = async (slots: number, deposits: number, rounds: number) => {
      const through = start + slots - 1;
      const runs = await compareRuns(
        rounds,
        {
          baseline: () => measure('bare', { ...env, DATABASE_URL: context.url }, start, through),
          indexer: () => indexerRunOnFreshDatabase(prepare, (url) => measure('ledger', { ...env, DATABASE_URL: url }, start, through), deposits),
        },
        (round, pair) => progress(`${slots} slots, round ${round}/${rounds}: bare fetch+decode ${pair.baseline.blocksPerSec} slots/s, indexer ${pair.indexer.blocksPerSec} slots/s`),
      );
      return { ...runs, blocks: slots, deposits };
    };

    progress(`building ${shortSlots} slots, a deposit every ${depositEverySlots}`);
    const shortDeposits = await buildSlots(devnet, wallet, addresses, shortSlots, 0, progress);
    devnet.produceSlots(finalitySlots);
    const rounds = context.quick ? 1 : 3;
    const short = await compare(shortSlots, shortDeposits, rounds);
    const notes = [
      `solana (LiteSVM devnet, in the bench's process): ${shortDeposits} deposits (SOL, every tenth USDC), one every ${depositEverySlots} slots, over ${shortSlots} slots to ${usersCount} users; medians of ${rounds} alternating runs, each in its own process (the indexer on a fresh database); peak RSS is the highest of the runs`,
      'target: indexer_vs_bare >= 0.8; rss_50k_vs_5k within 20 % of 1',
    ];
    if (context.quick) return indexerBenchResult({ bench: 'indexer-solana', baseline: 'bare', short, notes });
    // The slots the short runs read stay as they are (the finality slots after them are empty); the same density from here.
    progress(`growing the chain to ${longSlots} slots`);
    const longDeposits = shortDeposits + (await buildSlots(devnet, wallet, addresses, longSlots - shortSlots - finalitySlots, shortDeposits, progress));
    devnet.produceSlots(finalitySlots);
    return indexerBenchResult({ bench: 'indexer-solana', baseline: 'bare', short, long: await compare(longSlots, longDeposits, 1), notes });
  } finally {
    await devnet.stop();
  }
}
