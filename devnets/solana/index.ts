// The Solana devnet: LiteSVM (the real Solana runtime, in-process) behind Solana's JSON-RPC on a
// free loopback port, with slots, commitments, forks, a faucet, and a USDC-like mint planted at
// mainnet USDC's address so the product's default token list works here unchanged.
import type { AddressInfo } from 'node:net';
import { address, lamports, type Address } from '@solana/kit';
import { getMintEncoder, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { SolanaChain } from './chain.ts';
import { createFaucet } from './faucet.ts';
import { createMethods } from './methods.ts';
import { createRpcServer } from './server.ts';
import { localUrl, loopback, type DevnetListen } from '../ports.ts';

export { SolanaChain, finalizationDepthSlots, blockhashLifetimeBlocks, type Block, type Commitment, type LandedTransaction } from './chain.ts';

export const usdcMainnetMint = address('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v');
export const usdcDecimals = 6;
const mintBytes = 82n;
const slotIntervalMsDefault = 400;
/** The faucet holds a billion SOL: airdrops never run it dry. */
const faucetLamports = 1_000_000_000n * 1_000_000_000n;
const systemProgram = address('11111111111111111111111111111111');

export interface SolanaDevnetOptions {
  /** How often a slot closes; 'manual' leaves it to `produceSlots` (tests). Default 400 ms, like mainnet. */
  slotIntervalMs?: number | 'manual';
  /** base58 of a 64-byte keypair; a fresh one when absent. */
  faucetSecretKey?: string;
  listen?: DevnetListen;
}

export interface SolanaDevnetDescription {
  chain: 'solana';
  rpcUrl: string;
  faucet: { secretKey: string };
  tokens: { USDC: string };
}

export interface SolanaDevnet {
  rpcUrl: string;
  faucet: { secretKey: string; address: Address };
  tokens: { USDC: Address };
  /** The slot transactions land in now (`processed`). */
  slot(): number;
  /** Closes `count` slots; returns the slot then open. */
  produceSlots(count?: number): number;
  /** Drops a non-finalized block with everything after it (a fork); returns the signatures that vanished. */
  dropSlot(slot: number): string[];
  chain: SolanaChain;
  /** The first line of `coffer devnet solana --json`. */
  describe(): SolanaDevnetDescription;
  stop(): Promise<void>;
}

export async function startSolanaDevnet(options: SolanaDevnetOptions = {}): Promise<SolanaDevnet> {
  const faucet = createFaucet(options.faucetSecretKey);
  const chain = new SolanaChain((svm) => {
    svm.setAccount({ address: faucet.address, data: new Uint8Array(), executable: false, lamports: lamports(faucetLamports), programAddress: systemProgram, space: 0n });
    svm.setAccount({
      address: usdcMainnetMint,
      data: getMintEncoder().encode({ decimals: usdcDecimals, freezeAuthority: null, isInitialized: true, mintAuthority: faucet.address, supply: 0n }),
      executable: false,
      lamports: lamports(svm.minimumBalanceForRentExemption(mintBytes)),
      programAddress: TOKEN_PROGRAM_ADDRESS,
      space: mintBytes,
    });
  });
  const server = createRpcServer(createMethods(chain, faucet));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen?.port ?? 0, options.listen?.host ?? loopback, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const rpcUrl = localUrl(options.listen?.host ?? loopback, port);
  const interval = options.slotIntervalMs ?? slotIntervalMsDefault;
  const timer = interval === 'manual' ? undefined : setInterval(() => chain.produceSlot(), interval);
  return {
    rpcUrl,
    faucet: { secretKey: faucet.secretKey, address: faucet.address },
    tokens: { USDC: usdcMainnetMint },
    slot: () => chain.processedSlot,
    produceSlots(count = 1) {
      for (let produced = 0; produced < count; produced += 1) chain.produceSlot();
      return chain.processedSlot;
    },
    dropSlot: (slot) => chain.dropSlot(slot),
    chain,
    describe: () => ({ chain: 'solana', rpcUrl, faucet: { secretKey: faucet.secretKey }, tokens: { USDC: usdcMainnetMint } }),
    async stop() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
