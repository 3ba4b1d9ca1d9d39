// A NEAR-JSON-RPC-compatible chain in this process, for tests and the demo (nothing of nearcore
// runs offline: research/local-chains.md §4). Product code never imports this; it only speaks
// NEAR's RPC to the URL it is given. Blocks come every second by default, or on demand for tests.
import { KeyPair, type KeyPairString } from 'near-api-js';
import type { Curve } from '../../signer/index.ts';
import { NearChain, type Block } from './chain.ts';
import { fungibleToken, fungibleTokenGenesis } from './fungible-token.ts';
import { mpcSigner, randomMpcRoots } from './mpc-signer.ts';
import { NearRpc } from './rpc.ts';
import { localUrl, loopback } from '../ports.ts';

export { NearChain, finalityLagBlocks, type Block, type Finality, type TxExecutionStatus } from './chain.ts';

const nearYocto = 10n ** 24n;
export { ftStorageDepositYocto } from './fungible-token.ts';
export { signDepositYocto, signGasMinimum } from './mpc-signer.ts';

export const faucetAccountId = 'devnet';
export const signerContractId = 'v1.signer.devnet';
export const usdcContractId = 'usdc.devnet';
/** 10^9 USDC (6 decimals), all of it the faucet's at genesis. */
const usdcSupply = 1_000_000_000n * 10n ** 6n;

export interface NearDevnetOptions {
  /** `{ intervalMs }` produces blocks on a timer; 'on-demand' produces them only to carry each transaction to finality (and on `produceBlocks`). */
  blocks?: { intervalMs: number } | 'on-demand';
  /** The faucet's key; a fresh one per start by default. */
  faucetPrivateKey?: KeyPairString;
  faucetAmountYocto?: bigint;
  /** The MPC contract's root secrets; fresh ones per start by default. */
  mpcRoots?: Record<Curve, bigint>;
  txWaitTimeoutMs?: number;
  /** 0 asks the OS for a free port. */
  port?: number;
  /** Loopback by default; 0.0.0.0 to serve other containers. */
  host?: string;
}

export interface NearDevnetDescription {
  chain: 'near';
  rpcUrl: string;
  faucet: { accountId: string; privateKey: KeyPairString };
  signerContract: string;
  tokens: { USDC: string };
}

export interface NearDevnet {
  rpcUrl: string;
  port: number;
  chain: NearChain;
  faucet: { accountId: string; privateKey: KeyPairString };
  signerContract: string;
  /** The signer contract's root public keys (NAJ), which `public_key` also answers. */
  mpcRootKeys: Record<Curve, string>;
  tokens: { USDC: string };
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
  const signer = mpcSigner(options.mpcRoots ?? randomMpcRoots());
  const chain = new NearChain({
    chainId: 'devnet',
    registrarId: faucetAccountId,
    genesis: [
      { accountId: faucetAccountId, amountYocto: options.faucetAmountYocto ?? 1_000_000_000n * nearYocto, publicKeys: [faucetKey.getPublicKey().toString()] },
      { accountId: signerContractId, amountYocto: 100n * nearYocto, contract: signer.contract },
      {
        accountId: usdcContractId,
        amountYocto: 100n * nearYocto,
        contract: fungibleToken({ name: 'USD Coin (devnet)', symbol: 'USDC', decimals: 6 }),
        storage: fungibleTokenGenesis(faucetAccountId, usdcSupply),
      },
    ],
  });
  const tokens = { USDC: usdcContractId };
  const rpc = new NearRpc({ chain, onDemand: blocks === 'on-demand', txWaitTimeoutMs: options.txWaitTimeoutMs ?? 10_000 });
  const host = options.host ?? loopback;
  const port = await rpc.listen(options.port ?? 0, host);
  const rpcUrl = localUrl(host, port);
  const timer = blocks === 'on-demand' ? undefined : setInterval(() => chain.produceBlock(), blocks.intervalMs);
  return {
    rpcUrl,
    port,
    chain,
    faucet,
    signerContract: signerContractId,
    mpcRootKeys: signer.rootKeys,
    tokens,
    describe: () => ({ chain: 'near', rpcUrl, faucet, signerContract: signerContractId, tokens }),
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
