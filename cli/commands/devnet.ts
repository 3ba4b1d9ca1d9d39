// `coffer devnet <chain> [--json]`: one local chain for a newcomer, running until SIGTERM or
// Ctrl-C. The first line says where it is and how to pay from it; with --json it is one JSON
// object a script can read ({"chain","rpcUrl","faucet",…}), so the same shape serves every chain.
import { evmChain } from '../../chains/index.ts';
import { describeBitcoinDevnet, startAnvil, startBitcoinDevnet, startNearDevnet, startSolanaDevnet } from '../../devnets/index.ts';
import { parse, UsageError } from './index.ts';

interface RunningDevnet {
  description: { chain: string; rpcUrl: string } & Record<string, unknown>;
  stop(): Promise<void>;
}

const devnets: Record<string, () => Promise<RunningDevnet>> = {
  async [evmChain]() {
    const anvil = await startAnvil({ blockTimeSeconds: 1 });
    // anvil's development accounts are unlocked on the node: the faucet signs with eth_sendTransaction.
    return { description: { chain: evmChain, rpcUrl: anvil.url, chainId: anvil.chainId, faucet: { address: anvil.accounts[0] } }, stop: () => anvil.stop() };
  },
  async bitcoin() {
    const devnet = await startBitcoinDevnet();
    return { description: describeBitcoinDevnet(devnet), stop: () => devnet.stop() };
  },
  async solana() {
    const devnet = await startSolanaDevnet();
    return { description: { ...devnet.describe() }, stop: () => devnet.stop() };
  },
  async near() {
    const devnet = await startNearDevnet();
    return { description: { ...devnet.describe() }, stop: () => devnet.stop() };
  },
};

export const devnetChains = Object.keys(devnets);

export async function devnetCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  const [chain, ...extra] = positionals;
  if (!chain) throw new UsageError(`devnet needs a chain: ${devnetChains.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const start = devnets[chain];
  if (!start) throw new UsageError(`unknown chain "${chain}" (devnets: ${devnetChains.join(', ')})`);
  const devnet = await start();
  if (values.json) process.stdout.write(`${JSON.stringify(devnet.description)}\n`);
  else process.stdout.write(`${chain} devnet at ${devnet.description.rpcUrl}\n${JSON.stringify(devnet.description, null, 2)}\nCtrl-C stops it.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await devnet.stop();
  return 0;
}
