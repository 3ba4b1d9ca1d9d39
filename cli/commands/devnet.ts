// `coffer devnet <chain> [--host H] [--port N] [--json]`: one local chain (or service: Hermes, Alto) for a newcomer (or a
// compose service of the devnets profile), running until SIGTERM or Ctrl-C. The first line says where it is and how to pay from it; with --json it is one JSON
// object a script can read ({"chain","rpcUrl","faucet",…}), so the same shape serves every chain.
import { evmChain } from '../../chains/index.ts';
import { createPublicClient, getAddress, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { canonicalEntryPoint } from '../../contracts/index.ts';
import { describeBitcoinDevnet, startAlto, startAnvil, startBitcoinDevnet, startHermesReplay, startNearDevnet, startSolanaDevnet, type DevnetListen } from '../../devnets/index.ts';
import { createLogger, loadConfig } from '../../infra/index.ts';
import { parse, UsageError } from './index.ts';

interface RunningDevnet {
  description: { chain: string; rpcUrl: string } & Record<string, unknown>;
  stop(): Promise<void>;
}

const devnets: Record<string, (listen: DevnetListen) => Promise<RunningDevnet>> = {
  async [evmChain](listen) {
    const anvil = await startAnvil({ blockTimeSeconds: 1, listen });
    // anvil's development accounts are unlocked on the node: the faucet signs with eth_sendTransaction.
    return { description: { chain: evmChain, rpcUrl: anvil.url, chainId: anvil.chainId, faucet: { address: anvil.accounts[0] } }, stop: () => anvil.stop() };
  },
  async bitcoin(listen) {
    // In compose the indexer's BITCOIN_RPC_URL (a secret file) carries the credentials: serve those.
    const configured = loadConfig().BITCOIN_RPC_URL;
    const url = configured ? new URL(configured) : null;
    const credentials = url?.username && url.password ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
    const devnet = await startBitcoinDevnet({ listen, ...(credentials ? { credentials } : {}) });
    return { description: describeBitcoinDevnet(devnet), stop: () => devnet.stop() };
  },
  async solana(listen) {
    const devnet = await startSolanaDevnet({ listen });
    return { description: { ...devnet.describe() }, stop: () => devnet.stop() };
  },
  async near(listen) {
    const devnet = await startNearDevnet({ ...listen });
    return { description: { ...devnet.describe() }, stop: () => devnet.stop() };
  },
  /** Not a chain: the Hermes replay server the credits' prices come from on devnets (HERMES_URL). */
  async hermes(listen) {
    const hermes = await startHermesReplay(listen);
    return { description: { chain: 'hermes', rpcUrl: hermes.url }, stop: () => hermes.stop() };
  },
  /**
   * Not a chain: Alto, the ERC-4337 bundler (GPL, a devDependency, so only in the dev-tools
   * image), on the EVM devnet (EVM_RPC_URL) for the EntryPoint (EVM_ENTRYPOINT_ADDRESS, else the
   * canonical v0.8). Alto refuses to start before the EntryPoint exists, so this waits for
   * `coffer contracts deploy` to place it. Its executor EOA is a refill target.
   */
  async alto(listen) {
    const config = loadConfig();
    if (!config.EVM_RPC_URL) throw new UsageError('devnet alto bundles on an EVM chain: set EVM_RPC_URL');
    if (!config.ALTO_EXECUTOR_PRIVATE_KEY) throw new UsageError('devnet alto needs its executor key: set ALTO_EXECUTOR_PRIVATE_KEY_FILE to a file holding it');
    const entryPoint = getAddress(config.EVM_ENTRYPOINT_ADDRESS ?? canonicalEntryPoint);
    await waitForContract(config.EVM_RPC_URL, entryPoint);
    const executorKey = config.ALTO_EXECUTOR_PRIVATE_KEY as `0x${string}`;
    const alto = await startAlto({ rpcUrl: config.EVM_RPC_URL, entryPoint, executorPrivateKey: executorKey, listen });
    return { description: { chain: 'alto', rpcUrl: alto.url, entryPoint, executor: privateKeyToAccount(executorKey).address }, stop: () => alto.stop() };
  },
};

const contractPollMs = 2_000;

/** Until `address` has code; the chain may not be up yet either. Stopped by SIGTERM like the devnet itself. */
async function waitForContract(rpcUrl: string, address: Address): Promise<void> {
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0, timeout: 5_000 }) });
  const logger = createLogger({ level: 'info' });
  let told = false;
  for (;;) {
    const code = await client.getCode({ address }).catch(() => undefined);
    if (code && code !== '0x') return;
    if (!told) logger.info('waiting for the EntryPoint before starting Alto: coffer contracts deploy places it', { rpcUrl, entryPoint: address });
    told = true;
    await new Promise((resolve) => setTimeout(resolve, contractPollMs));
  }
}

export const devnetChains = Object.keys(devnets);
/** Devnets that need devDependencies (Alto is one), so compose runs them from the dev-tools image. */
export const devToolDevnets: readonly string[] = ['alto'];

export async function devnetCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, host: { type: 'string' }, port: { type: 'string' } });
  const [chain, ...extra] = positionals;
  if (!chain) throw new UsageError(`devnet needs a chain: ${devnetChains.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const start = devnets[chain];
  if (!start) throw new UsageError(`unknown chain "${chain}" (devnets: ${devnetChains.join(', ')})`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) throw new UsageError(`--port must be a port number, not "${values.port}"`);
  const devnet = await start({ ...(values.host ? { host: values.host } : {}), ...(port !== undefined ? { port } : {}) });
  if (values.json) process.stdout.write(`${JSON.stringify(devnet.description)}\n`);
  else process.stdout.write(`${chain} devnet at ${devnet.description.rpcUrl}\n${JSON.stringify(devnet.description, null, 2)}\nCtrl-C stops it.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await devnet.stop();
  return 0;
}
