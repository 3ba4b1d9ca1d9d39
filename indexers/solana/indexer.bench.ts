// `coffer bench indexer --chain solana`: slots per second of the Solana indexer (the
// `ChainFollower` over `SolanaBlockSource`, writing the ledger on a fresh database) catching up
// over a devnet chain whose slots carry deposits (SOL and USDC to watched addresses), against a
// bare loop that only fetches and decodes the same blocks (`getBlocks`, then `getBlock` with the
// same options and concurrency, then the same decode) and writes nothing. Both in the same run
// on the same devnet, which runs in this process, so both pay for its RPC the same way.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RssSampler, type BenchContext, type BenchResult } from '../../bench/index.ts';
import { startSolanaDevnet } from '../../devnets/index.ts';
import { loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { ChainFollower } from '../core/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { solanaWallet } from '../../testing/solana-wallet.ts';
import { decodeBlock, type AccountsBlock } from './decode.ts';
import { solanaRpc } from './rpc.ts';
import { registerSolanaTokens, solanaFollowSettings, solanaTokens } from './run.ts';
import { blockOptions, SolanaBlockSource } from './source.ts';

const usersCount = 20;
/** One deposit every this many slots: most slots carry one. */
const depositEverySlots = 2;
/** The follower's and the bare loop's range per pass, and their concurrent `getBlock`s. */
const batchSlots = 100;
const concurrentFetches = 8;
/** Past the last deposit, so every deposit is finalized (finalized trails by 32 slots). */
const finalitySlots = 40;

export async function solanaIndexerBench(context: BenchContext): Promise<BenchResult> {
  // The ratio over the first `measuredSlots`; the full run goes on to 50k slots for peak RSS.
  const measuredSlots = context.quick ? 1_000 : 5_000;
  const chainSlots = context.quick ? measuredSlots : 50_000;
  const devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
  const sampler = new RssSampler();
  try {
    const config = loadConfig({ DATABASE_URL: context.url, SOLANA_RPC_URL: devnet.rpcUrl, SOLANA_POLL_INTERVAL_MS: '1000' });
    const rpc = solanaRpc(devnet.rpcUrl);
    const tokens = solanaTokens(config);
    const wallet = await solanaWallet(devnet);
    const startSlot = devnet.slot();

    const pool = context.pool;
    const indexer = await (async () => {
      await registerSolanaTokens(pool, rpc, tokens);
      const addresses: string[] = [];
      for (let i = 0; i < usersCount; i += 1) {
        const user = await createUser(pool, { nearAccountId: `bench-sol-${i}.testnet` });
        addresses.push((await getDepositAddress(pool, user.id, 'solana', derivation)).address);
      }

      context.progress(`building ${chainSlots} slots, a deposit every ${depositEverySlots}`);
      let deposits = 0;
      let lastReport = Date.now();
      for (let slot = 0; slot < chainSlots; slot += 1) {
        if (slot % depositEverySlots === 0) {
          const to = addresses[deposits % usersCount]!;
          // Every tenth a USDC transfer (token balances), the rest SOL: amounts differ, so no two transactions are the same.
          if (deposits % 10 === 9) await wallet.sendUsdc(to, BigInt(1_000_000 + deposits));
          else await wallet.sendSol(to, BigInt(10_000_000 + deposits));
          deposits += 1;
        }
        devnet.produceSlots(1);
        if (Date.now() - lastReport > 5_000) {
          context.progress(`chain: ${slot + 1} of ${chainSlots} slots`);
          lastReport = Date.now();
        }
      }
      devnet.produceSlots(finalitySlots);
      const head = await rpc<number>('getSlot', [{ commitment: 'confirmed' }]);

      // The bare loop: the same blocks, fetched and decoded the same way, nothing written.
      sampler.reset();
      let started = performance.now();
      let transfers = 0;
      let blocks = 0;
      const measuredThrough = Math.min(head, startSlot + measuredSlots - 1);
      for (let after = startSlot - 1; after < measuredThrough; after += batchSlots) {
        const slots = await rpc<number[]>('getBlocks', [after + 1, Math.min(measuredThrough, after + batchSlots), { commitment: 'confirmed' }]);
        for (let start = 0; start < slots.length; start += concurrentFetches) {
          const chunk = slots.slice(start, start + concurrentFetches);
          const read = await Promise.all(chunk.map((slot) => rpc<AccountsBlock>('getBlock', [slot, blockOptions])));
          read.forEach((block, index) => {
            transfers += decodeBlock(chunk[index]!, block, tokens).transfers.length;
            blocks += 1;
          });
        }
      }
      const bareMs = performance.now() - started;
      const bareRssMb = sampler.peakMb();

      const writer = new LedgerWriter({ pool, logger: silentLogger });
      try {
        const follower = new ChainFollower({ pool, writer, source: new SolanaBlockSource({ rpc, tokens }), settings: solanaFollowSettings(config, startSlot), logger: silentLogger });
        await follower.connect();
        /** Passes until `through`; the slots read (the last pass may overshoot it by less than a batch). */
        const followThrough = async (through: number) => {
          let read = 0;
          for (;;) {
            const batch = await follower.step();
            read += batch?.blocks ?? 0;
            if (!batch || batch.toHeight >= through) return read;
          }
        };
        sampler.reset();
        started = performance.now();
        const indexerBlocks = await followThrough(measuredThrough);
        const ms = performance.now() - started;
        const rssMb = sampler.peakMb();
        const heapMb = retainedHeapMb();
        context.progress(`indexer: ${indexerBlocks} slots measured; following on to slot ${head}`);
        const restBlocks = await followThrough(head);
        const rssAtEndMb = sampler.peakMb();
        const heapAtEndMb = retainedHeapMb();
        const { rows } = await pool.query<{ n: bigint }>("SELECT count(*) AS n FROM journal_entries WHERE kind = 'deposit.confirmed'");
        return { ms, deposits, confirmed: Number(rows[0]!.n), rssMb, rssAtEndMb, heapMb, heapAtEndMb, allBlocks: indexerBlocks + restBlocks, indexerBlocks, bareMs, bareRssMb, transfers, blocks };
      } finally {
        await writer.close();
      }
    })();
    if (indexer.confirmed !== indexer.deposits) throw new Error(`the indexer confirmed ${indexer.confirmed} deposits of ${indexer.deposits}`);
    const bareSlotsPerSec = (indexer.blocks * 1000) / indexer.bareMs;
    const indexerSlotsPerSec = (indexer.indexerBlocks * 1000) / indexer.ms;
    const full = !context.quick;
    return {
      bench: 'indexer-solana',
      metrics: {
        bare: { slots: indexer.blocks, slotsPerSec: Math.round(bareSlotsPerSec), peakRssMb: round(indexer.bareRssMb), decodedTransfers: indexer.transfers },
        indexer: { slots: indexer.indexerBlocks, slotsPerSec: Math.round(indexerSlotsPerSec), peakRssMb: round(indexer.rssMb), retainedHeapMb: indexer.heapMb, deposits: indexer.confirmed },
        ...(full ? { indexer_all: { slots: indexer.allBlocks, peakRssMb: round(indexer.rssAtEndMb), retainedHeapMb: indexer.heapAtEndMb } } : {}),
      },
      ratios: {
        indexer_vs_bare: round(indexerSlotsPerSec / bareSlotsPerSec),
        rss_indexer_vs_bare: round(indexer.rssMb / indexer.bareRssMb),
        ...(full ? { rss_all_vs_measured: round(indexer.rssAtEndMb / indexer.rssMb), retained_heap_all_vs_measured: round(indexer.heapAtEndMb / indexer.heapMb) } : {}),
      },
      notes: [
        `${indexer.deposits} deposits (SOL, every tenth USDC), one every ${depositEverySlots} slots, to ${usersCount} users; the devnet in this process: its blocks are in this process's memory (built before either run), so RSS and heap include them`,
        `bare and indexer over the first ${measuredSlots} slots${full ? `; the indexer then follows on to ${indexer.allBlocks} slots (indexer_all, rss_all_vs_measured)` : ''}`,
        'target: indexer_vs_bare >= 0.8; rss_all_vs_measured <= 1.2',
      ],
    };
  } finally {
    sampler.stop();
    await devnet.stop();
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Heap in use after a full collection: what the process keeps, unlike peak RSS, which also holds
 * garbage V8 has not collected yet. The flag set at run time gives a fresh context its `gc`.
 */
function retainedHeapMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
}
