// `coffer bench indexer --chain near`: blocks per second of the NEAR indexer (the `ChainFollower`
// over the NEAR block source, writing the ledger on a fresh database) catching up over a devnet
// chain with deposits (native NEAR and USDC), against a bare loop that fetches the same blocks
// and chunks and decodes their receipts, writing nothing, alternating in the same run on the same
// devnet. Each run is a process of its own (`bench-child.ts`, with the node flags the supervisor
// gives indexer processes), so its peak RSS is the indexer's; the devnet and its blocks stay in
// this process. Then, unless --quick, the same over ten times the blocks, to show peak RSS stays
// flat as the chain grows.
import { fileURLToPath } from 'node:url';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { compareRuns, indexerBenchResult, indexerRunOnFreshDatabase, runBenchChild, type BenchContext, type BenchResult, type ChildRun } from '../../bench/index.ts';
import { startNearDevnet, ftStorageDepositYocto, type NearDevnet } from '../../devnets/near/index.ts';
import type { Pool } from '../../infra/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { indexerNodeFlags } from '../supervise.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const usersCount = 10;
/** A deposit's transaction and receipts take a few blocks; none is sent this close to the end of a range. */
const depositTailBlocks = 10;

function measure(store: 'bare' | 'ledger', env: NodeJS.ProcessEnv, through: number): Promise<ChildRun> {
  return runBenchChild(child, { label: store, nodeFlags: indexerNodeFlags, env: { ...env, BENCH_STORE: store, BENCH_TO: String(through) } });
}

/** Grows the chain to `height` with a deposit (NEAR and USDC in turn) every `every` blocks; returns how many. */
async function buildChain(devnet: NearDevnet, faucet: Account, accounts: string[], height: number, every: number, firstDeposit: number, progress: (line: string) => void): Promise<number> {
  let deposits = 0;
  let lastReport = Date.now();
  for (let head = devnet.chain.head.height; head < height; head = devnet.chain.head.height) {
    if (height - head > depositTailBlocks) {
      const i = firstDeposit + deposits;
      const account = accounts[i % accounts.length]!;
      if (i % 2 === 0) await faucet.transfer({ receiverId: account, amount: nearToYocto('0.5') });
      else await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'ft_transfer', args: { receiver_id: account, amount: String(1_000_000 + i) }, deposit: 1n });
      deposits += 1;
    }
    const left = height - devnet.chain.head.height;
    if (left > 0) devnet.produceBlocks(Math.min(every, left));
    if (Date.now() - lastReport > 5_000) {
      progress(`chain at block ${devnet.chain.head.height} of ${height}`);
      lastReport = Date.now();
    }
  }
  return deposits;
}

export async function nearIndexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const shortBlocks = 5_000;
  const longBlocks = 50_000;
  const devnet = await startNearDevnet({ blocks: 'on-demand' });
  try {
    const faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
    const accounts = Array.from({ length: usersCount }, () => Buffer.from(KeyPair.fromRandom('ed25519').getPublicKey().data).toString('hex'));
    // Each account's first 1 NEAR (which creates the implicit account) is a deposit too.
    for (const account of accounts) {
      await faucet.transfer({ receiverId: account, amount: nearToYocto('1') });
      await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'storage_deposit', args: { account_id: account }, deposit: ftStorageDepositYocto });
    }
    const prepare = async (pool: Pool) => {
      for (const account of accounts) await getDepositAddress(pool, (await createUser(pool, { nearAccountId: account })).id, 'near', derivation);
    };
    const env = { ...process.env, NEAR_RPC_URL: devnet.rpcUrl, NEAR_TOKENS: `USDC=${devnet.tokens.USDC}` };
    const compare = async (blocks: number, deposits: number, rounds: number) => {
      const runs = await compareRuns(
        rounds,
        {
          baseline: () => measure('bare', { ...env, DATABASE_URL: context.url }, blocks),
          indexer: () => indexerRunOnFreshDatabase(prepare, (url) => measure('ledger', { ...env, DATABASE_URL: url }, blocks), deposits),
        },
        (round, pair) => progress(`${blocks} blocks, round ${round}/${rounds}: bare fetch+decode ${pair.baseline.blocksPerSec} blocks/s, indexer ${pair.indexer.blocksPerSec} blocks/s`),
      );
      return { ...runs, blocks, deposits };
    };
    // Past the range, so the whole range is final (`final` trails the head by two blocks).
    const finish = () => devnet.produceBlocks(3);

    progress(`building ${shortBlocks} blocks with a deposit every 50`);
    const shortDeposits = usersCount + (await buildChain(devnet, faucet, accounts, shortBlocks, 50, 0, progress));
    finish();
    const rounds = context.quick ? 1 : 3;
    const short = await compare(shortBlocks, shortDeposits, rounds);
    const notes = [
      `near (devnet, in the bench's process): ${shortDeposits} deposits (native NEAR and USDC) over ${shortBlocks} blocks to ${usersCount} users; medians of ${rounds} alternating runs, each in its own process (the indexer on a fresh database); peak RSS is the highest of the runs`,
      'target: indexer_vs_bare >= 0.8; rss_50k_vs_5k within 20 % of 1',
    ];
    if (context.quick) return indexerBenchResult({ bench: 'indexer-near', baseline: 'bare', short, notes });
    progress(`growing the chain to ${longBlocks} blocks (a deposit every 500 blocks)`);
    const longDeposits = shortDeposits + (await buildChain(devnet, faucet, accounts, longBlocks, 500, shortDeposits, progress));
    finish();
    return indexerBenchResult({ bench: 'indexer-near', baseline: 'bare', short, long: await compare(longBlocks, longDeposits, 1), notes });
  } finally {
    await devnet.stop();
  }
}
