// `coffer bench indexer --chain near`: blocks per second of the NEAR indexer catching up over a
// devnet chain with deposits (native NEAR and USDC), against a bare loop that fetches and decodes
// the same blocks and chunks and writes nothing, both in the same run on the same devnet.
// The devnet runs in this process, so both sides pay for its RPC the same way.
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { withBenchDatabase, RssSampler, type BenchContext, type BenchResult } from '../../bench/index.ts';
import { startNearDevnet, ftStorageDepositYocto } from '../../devnets/near/index.ts';
import { silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { ChainFollower } from '../core/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { ftTransferCall, transferYocto } from './decode.ts';
import { nearRpc } from './rpc.ts';
import { nearSettings, registerNearTokens, watchedNearAccounts } from './run.ts';
import { fetchBlocks, NearBlockSource } from './source.ts';

const usersCount = 10;
const batchBlocks = 500;

export async function nearIndexerBench(context: BenchContext): Promise<BenchResult> {
  const chainBlocks = context.quick ? 5_000 : 20_000;
  const depositsCount = context.quick ? 40 : 100;
  const devnet = await startNearDevnet({ blocks: 'on-demand' });
  const sampler = new RssSampler();
  try {
    const rpc = nearRpc(devnet.rpcUrl);
    const tokens = new Map([[devnet.tokens.USDC, 'USDC']]);
    const faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
    const accounts = Array.from({ length: usersCount }, () => Buffer.from(KeyPair.fromRandom('ed25519').getPublicKey().data).toString('hex'));
    for (const account of accounts) {
      await faucet.transfer({ receiverId: account, amount: nearToYocto('1') });
      await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'storage_deposit', args: { account_id: account }, deposit: ftStorageDepositYocto });
    }
    context.progress(`building ${chainBlocks} blocks with ${depositsCount} deposits`);
    const every = Math.floor(chainBlocks / depositsCount);
    for (let i = 0; i < depositsCount; i += 1) {
      const account = accounts[i % usersCount]!;
      if (i % 2 === 0) await faucet.transfer({ receiverId: account, amount: nearToYocto('0.5') });
      else await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'ft_transfer', args: { receiver_id: account, amount: '1000000' }, deposit: 1n });
      devnet.produceBlocks(Math.max(0, every - 4));
    }
    devnet.produceBlocks(Math.max(0, chainBlocks - devnet.chain.head.height) + 3);
    const head = devnet.chain.head.height;

    // The bare loop: the same blocks and chunks, fetched and decoded, nothing written.
    sampler.reset();
    let started = performance.now();
    let candidates = 0;
    for (let after = -1; after < head; after += batchBlocks) {
      for (const { chunks } of await fetchBlocks(rpc, after, Math.min(head, after + batchBlocks))) {
        for (const receipt of chunks.flatMap((c) => c.receipts)) if (transferYocto(receipt) > 0n || ftTransferCall(receipt, tokens)) candidates += 1;
      }
    }
    const bareMs = performance.now() - started;
    const bareRssMb = sampler.peakMb();

    const indexer = await withBenchDatabase(async (pool) => {
      const writer = new LedgerWriter({ pool, logger: silentLogger });
      try {
        await registerNearTokens(pool, rpc, tokens);
        for (const account of accounts) await getDepositAddress(pool, (await createUser(pool, { nearAccountId: account })).id, 'near', derivation);
        const source = new NearBlockSource({ rpc, tokens, watched: watchedNearAccounts(pool) });
        const follower = new ChainFollower({ pool, writer, source, settings: { ...nearSettings({ NEAR_POLL_INTERVAL_MS: 1_000 }), batchBlocksMax: batchBlocks }, logger: silentLogger });
        await follower.connect();
        sampler.reset();
        started = performance.now();
        let deposits = 0;
        for (;;) {
          const batch = await follower.step();
          deposits += batch?.deposits ?? 0;
          if (!batch || batch.toHeight >= head) break;
        }
        const ms = performance.now() - started;
        const { rows } = await pool.query<{ n: bigint }>("SELECT count(*) AS n FROM journal_entries WHERE kind = 'deposit.confirmed'");
        return { ms, deposits, confirmed: Number(rows[0]!.n), rssMb: sampler.peakMb() };
      } finally {
        await writer.close();
      }
    });
    const expected = usersCount + depositsCount;
    if (indexer.confirmed !== expected) throw new Error(`the indexer confirmed ${indexer.confirmed} deposits of ${expected}`);
    const blocks = head + 1;
    const perSec = (ms: number) => Math.round((blocks * 1000) / ms);
    return {
      bench: 'indexer-near',
      metrics: {
        bare: { blocks, blocksPerSec: perSec(bareMs), peakRssMb: round(bareRssMb), candidateReceipts: candidates },
        indexer: { blocks, blocksPerSec: perSec(indexer.ms), peakRssMb: round(indexer.rssMb), deposits: indexer.confirmed },
      },
      ratios: { indexer_vs_bare: round(bareMs / indexer.ms), rss_indexer_vs_bare: round(indexer.rssMb / bareRssMb) },
      notes: [
        `${expected} deposits (native NEAR and USDC) over ${blocks} blocks to ${usersCount} users; one run each, the devnet in this process`,
        'target: indexer_vs_bare >= 0.8',
      ],
    };
  } finally {
    sampler.stop();
    await devnet.stop();
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
