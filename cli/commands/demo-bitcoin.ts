// The Bitcoin step of `coffer demo`: a bcoin regtest node beside anvil, its settings for
// `coffer start` (which then runs the Bitcoin indexer and consolidation sweeps), and a BTC
// deposit of its own user narrated from pending to swept. bcoin mines only when asked, so a
// block a second is mined while the step runs.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction } from 'bitcoinjs-lib';
import { addressToScript, formatBtc, p2wpkhAddress } from '../../chains/index.ts';
import { startBitcoinDevnet } from '../../devnets/index.ts';
import type { Pool } from '../../infra/index.ts';
import { getBalances } from '../../ledger/index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../../users/index.ts';
import { depositHistories, describeCredit, stepOf } from './demo-narration.ts';

const finalityDepth = 3;
const depositSat = 1_000_000n;
const stepTimeoutMs = 120_000;
const blockIntervalMs = 1_000;

export interface BitcoinDemoStep {
  /** For `coffer start`'s environment. */
  env: NodeJS.ProcessEnv;
  /** Pays a fresh user's Bitcoin deposit address and narrates it to the sweep; returns once swept. */
  run(options: { pool: Pool; derivation: DerivationSettings }): Promise<void>;
}

export async function bitcoinDemoStep(options: { cleanups: (() => Promise<unknown>)[]; say: (line: string) => void }): Promise<BitcoinDemoStep> {
  const { say } = options;
  const devnet = await startBitcoinDevnet();
  options.cleanups.unshift(() => devnet.stop());
  const treasury = p2wpkhAddress({ publicKey: secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true), network: 'regtest' });
  say(`bcoin regtest (segwit active) at 127.0.0.1:${devnet.port}; bitcoin treasury ${treasury}`);
  return {
    env: {
      BITCOIN_RPC_URL: devnet.rpcUrl,
      BITCOIN_NETWORK: 'regtest',
      BITCOIN_FINALITY_DEPTH: String(finalityDepth),
      BITCOIN_POLL_INTERVAL_MS: '250',
      BITCOIN_START_HEIGHT: String((await devnet.client.getBlockCount()) + 1),
      BITCOIN_TREASURY_ADDRESS: treasury,
      BITCOIN_SWEEP_BATCH_WINDOW_SECONDS: '2',
    },
    async run({ pool, derivation }) {
      const user = await createUser(pool, { nearAccountId: `demo-btc-${Date.now().toString(36)}.testnet` });
      const deposit = await getDepositAddress(pool, user.id, 'bitcoin', derivation);
      const paid = await devnet.send({ script: addressToScript({ address: deposit.address, network: 'regtest' }), valueSat: depositSat });
      say(`user ${user.id}: sent ${formatBtc(depositSat)} BTC to bitcoin deposit address ${deposit.address} (${paid.txid.slice(0, 12)}…:${paid.vout})`);
      const miner = setInterval(() => void devnet.mine(1).catch(() => undefined), blockIntervalMs);
      try {
        const until = async (what: string, check: () => Promise<string | undefined>) => {
          const deadline = Date.now() + stepTimeoutMs;
          for (;;) {
            const detail = await check();
            if (detail !== undefined) return say(`BTC ${what}: ${detail}`);
            if (Date.now() > deadline) throw new Error(`timed out after ${stepTimeoutMs} ms waiting for the BTC deposit to be ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        };
        const history = async () => (await depositHistories(pool, user.id, 'bitcoin', deposit.address))[0];
        await until('seen (pending)', async () => {
          const seen = await history();
          return seen ? `in block ${seen.blockHeight}` : undefined;
        });
        await until(`confirmed (${finalityDepth} confirmations)`, async () => {
          const seen = await history();
          return seen && stepOf(seen, 'confirmed') ? 'pending → custody' : undefined;
        });
        await until('priced and credited', async () => {
          const seen = await history();
          return seen && describeCredit(seen);
        });
        await until('swept to the treasury in a consolidation', async () => {
          const seen = await history();
          const sweep = seen && stepOf(seen, 'sweep');
          if (sweep?.status !== 'confirmed' || !sweep.txHash) return undefined;
          const raw = await devnet.client.getRawTransaction(sweep.txHash);
          if (!raw) return undefined;
          const transaction = Transaction.fromHex(raw);
          const booked = (await getBalances(pool, { account: 'treasury:bitcoin', asset: 'BTC' }))[0]?.balance ?? 0n;
          const treasuryOutput = transaction.outs[0]?.value ?? 0n;
          return `${sweep.txHash.slice(0, 12)}… with ${transaction.ins.length} input(s), fee ${sweep.fee} sat; treasury output ${formatBtc(treasuryOutput)} BTC on chain = treasury:bitcoin ${formatBtc(booked)} BTC in the ledger`;
        });
      } finally {
        clearInterval(miner);
      }
    },
  };
}
