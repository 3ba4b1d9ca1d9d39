// A NEAR-JSON-RPC-compatible chain in this process, for tests and the demo (nothing of nearcore
// runs offline: research/local-chains.md §4). Product code never imports this; it only speaks
// NEAR's RPC to the URL it is given. Blocks come every second by default, or on demand for tests.
import { KeyPair, type KeyPairString } from 'near-api-js';
import { NearChain, type Block } from './chain.ts';
import { NearRpc } from './rpc.ts';

export { NearChain, finalityLagBlocks, type Block, type Finality, type TxExecutionStatus } from './chain.ts';

const nearYocto = 10n ** 24n;
export const faucetAccountId = 'devnet';

export interface NearDevnetOptions {
  /** `{ intervalMs }` produces blocks on a timer; 'on-demand' produces them only to carry each transaction to finality (and on `produceBlocks`). */
  blocks?: { intervalMs: number } | 'on-demand';
  /** The faucet's key; a fresh one per start by default. */
  faucetPrivateKey?: KeyPairString;
  faucetAmountYocto?: bigint;
  txWaitTimeoutMs?: number;
  /** 0 asks the OS for a free port. */
  port?: number;
}

export interface NearDevnetDescription {
  chain: 'near';
  rpcUrl: string;
  faucet: { accountId: string; privateKey: KeyPairString };
}

export interface NearDevnet {
  rpcUrl: string;
  port: number;
  chain: NearChain;
  faucet: { accountId: string; privateKey: KeyPairString };
  /** The first line of `coffer devnet near --json`. */
  describe(): NearDevnetDescription;
  /** Produces blocks now (in either mode); returns the last one. */
  produceBlocks(count: number): Block;
  stop(): Promise<void>;
}

export async function startNearDevnet(options: NearDevnetOptions = {}): Promise<NearDevnet> {
  const blocks = options.blocks ?? { intervalMs: 1_000 };
  const faucetKey = options.faucetPrivateKey ? KeyPair.fromString(options.faucetPrivateKey) : KeyPair.fromRandom('ed25519');
  const faucet = { accountId: faucetAccountId, privateKey: faucetKey.toString() };
  const chain = new NearChain({
    chainId: 'devnet',
    registrarId: faucetAccountId,
    genesis: [{ accountId: faucetAccountId, amountYocto: options.faucetAmountYocto ?? 1_000_000_000n * nearYocto, publicKeys: [faucetKey.getPublicKey().toString()] }],
  });
  const rpc = new NearRpc({ chain, onDemand: blocks === 'on-demand', txWaitTimeoutMs: options.txWaitTimeoutMs ?? 10_000 });
  const port = await rpc.listen(options.port ?? 0);
  const rpcUrl = `http://127.0.0.1:${port}`;
  const timer = blocks === 'on-demand' ? undefined : setInterval(() => chain.produceBlock(), blocks.intervalMs);
  return {
    rpcUrl,
    port,
    chain,
    faucet,
    describe: () => ({ chain: 'near', rpcUrl, faucet }),
    produceBlocks(count) {
      for (let produced = 0; produced < count; produced += 1) chain.produceBlock();
      return chain.head;
    },
    async stop() {
      clearInterval(timer);
      await rpc.close();
    },
  };
}
