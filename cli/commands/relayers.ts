// `coffer relayers …`, `coffer treasury …`, `coffer refills …`: setting up the relayer and the
// balances the refill job keeps. Keys are created in the keystore; secrets are printed once.
import { createPublicClient, getAddress, http, type Hex, type PublicClient } from 'viem';
import { createLogger, loadConfig, type Config } from '../../infra/index.ts';
import {
  createRelayer,
  startRelayerKeyRotation,
  listRefillTargets,
  listRelayers,
  OperationalKeys,
  recordTreasuryFunding,
  refillPass,
  RelayError,
  relayChain,
  rotateTreasuryKey,
  setRefillTarget,
  treasuryNotConfigured,
  treasuryView,
  type RefillContext,
} from '../../relayer/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { keystoreHasKey } from '../../signer/index.ts';
import { recordChainFunding } from './funding.ts';
import { operationalKeystore } from './keystore.ts';
import { RotationError } from '../../rotations/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

const wei = (value: string | undefined, flag: string, fallback: string): bigint => {
  const text = value ?? fallback;
  if (!/^\d{1,78}$/.test(text)) throw new UsageError(`${flag} is a whole number of wei`);
  return BigInt(text);
};

function rpcUrl(config: Config): string {
  if (!config.EVM_RPC_URL) throw new UsageError('set EVM_RPC_URL: relayers and refills live on an EVM chain');
  return config.EVM_RPC_URL;
}

const rpc = (config: Config) => createPublicClient({ transport: http(rpcUrl(config), { retryCount: 1, timeout: 10_000 }) }) as PublicClient;

async function keys(config: Config) {
  const { keystore } = await operationalKeystore(config, createLogger({ level: 'warn' }));
  if (!keystore) throw new UsageError('set COFFER_KEYSTORE_PASSPHRASE (or _FILE): the keys live in the encrypted keystore');
  return { keystore, keys: new OperationalKeys(keystore) };
}

export async function relayersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    chain: { type: 'string' },
    name: { type: 'string' },
    'fund-below': { type: 'string' },
    'fund-to': { type: 'string' },
    'daily-cap': { type: 'string' },
    'min-balance': { type: 'string' },
    json: { type: 'boolean' },
  });
  const config = loadConfig();
  return withDatabase(2, async (pool) => {
    if (positionals[0] === 'create') {
      if (!values.chain) throw new UsageError('relayers create needs --chain ethereum');
      const { keystore } = await keys(config);
      try {
        const created = await createRelayer(pool, keystore, {
          chain: values.chain,
          ...(values.name ? { name: values.name } : {}),
          rpcUrl: rpcUrl(config),
          gasPriceCap: BigInt(config.RELAYER_GAS_PRICE_CAP_WEI),
          minBalance: wei(values['min-balance'], '--min-balance', '0'),
          refill: {
            fundBelow: wei(values['fund-below'], '--fund-below', config.RELAYER_FUND_BELOW_WEI),
            fundTo: wei(values['fund-to'], '--fund-to', config.RELAYER_FUND_TO_WEI),
            dailyCap: wei(values['daily-cap'], '--daily-cap', config.RELAYER_DAILY_REFILL_CAP_WEI),
          },
        });
        const out = { relayerId: created.relayer.id, address: created.relayer.address, chainId: created.relayer.chainId, apiKey: created.apiKey, apiSecret: created.apiSecret };
        if (values.json) printJson(out);
        else process.stdout.write(`relayer ${out.relayerId}\naddress ${out.address}\napiKey ${out.apiKey}\napiSecret ${out.apiSecret}\n`);
        process.stderr.write('the API secret is shown only once; point DEFENDER_API_URL at coffer and log in with the key and secret\n');
        return 0;
      } catch (error) {
        if (error instanceof RelayError) throw new UsageError(error.message);
        throw error;
      }
    }
    if (positionals[0] === 'list') {
      const relayers = (await listRelayers(pool)).map((r) => ({ relayerId: r.id, name: r.name, address: r.address, chainId: r.chainId, paused: r.paused }));
      if (values.json) printJson(relayers);
      else for (const r of relayers) process.stdout.write(`${r.relayerId}  ${r.address}  chain ${r.chainId}${r.paused ? '  paused' : ''}  ${r.name}\n`);
      return 0;
    }
    if (positionals[0] === 'rotate-key' && positionals[1]) {
      const { keys: opened } = await keys(config);
      try {
        const started = await startRelayerKeyRotation(pool, opened, positionals[1], { actor: 'cli' });
        if (values.json) printJson(started);
        else process.stdout.write(`relayer ${started.relayerId}: new key ${started.newAddress} (old ${started.oldAddress})\n`);
        process.stderr.write('the refill job funds the new key; the monitor then switches to it, drains the old key into it and retires it (coffer rotations --kind relayer_key)\n');
        return 0;
      } catch (error) {
        if (error instanceof RelayError) throw new RotationError('rotation_refused', error.message);
        throw error;
      }
    }
    throw new UsageError('relayers takes "create --chain ethereum [--name N] [--fund-below W --fund-to W --daily-cap W] [--json]", "list [--json]" or "rotate-key <id> [--json]"');
  });
}

/** How long `coffer treasury rotate` waits for the old key's refills and its drain to be mined before leaving the rest to the refill job. */
const rotateWaitMs = 10 * 60_000;

export async function treasuryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { tx: { type: 'string' }, chain: { type: 'string' }, from: { type: 'string' }, json: { type: 'boolean' } });
  const config = loadConfig();
  const action = positionals[0];
  if (action !== 'create' && action !== 'show' && action !== 'record-funding' && action !== 'rotate') {
    throw new UsageError('treasury takes "create", "show", "record-funding [--chain ethereum|solana|near] --tx <hash>" or "rotate [--json]"');
  }
  if (action === 'record-funding' && values.chain !== undefined && values.chain !== relayChain.chain) return recordChainFunding(config, values.chain, values);
  // Looking must not create anything (the keystore directory, a development passphrase file).
  if (action === 'show' && !(await keystoreHasKey(config.COFFER_KEYSTORE_DIR, config.TREASURY_HOT_KEY))) {
    printJson(treasuryNotConfigured(config.TREASURY_HOT_KEY));
    return 0;
  }
  const { keystore, keys: opened } = await keys(config);
  if (action === 'create') {
    const created = await keystore.create(config.TREASURY_HOT_KEY, 'secp256k1');
    const address = (await opened.get(created.name)).address;
    process.stdout.write(`${address}\n`);
    process.stderr.write(`created the treasury hot wallet key ${created.name}; send ETH to it, then: coffer treasury record-funding --tx <hash>\n`);
    return 0;
  }
  return withDatabase(3, async (pool) => {
    const client = rpc(config);
    const writer = new LedgerWriter({ pool });
    const refills: RefillContext = { pool, writer, logger: createLogger({ level: 'warn' }), client, keys: opened, treasuryKeyName: config.TREASURY_HOT_KEY, treasuryLowBelow: BigInt(config.TREASURY_LOW_BELOW_WEI) };
    try {
      if (action === 'record-funding') {
        if (!values.tx || !/^0x[0-9a-fA-F]{64}$/.test(values.tx)) throw new UsageError('record-funding needs --tx <0x transaction hash>');
        const recorded = await recordTreasuryFunding(refills, values.tx as Hex);
        if (values.json) printJson(recorded);
        else process.stdout.write(`booked ${recorded.amount} wei to ${recorded.account} (entry ${recorded.entryId})\n`);
        return 0;
      }
      if (action === 'rotate') {
        const rotation = await rotateTreasuryKey(refills, { actor: 'cli', waitMs: rotateWaitMs, lockWaitMs: rotateWaitMs });
        if (values.json) printJson(rotation);
        else process.stdout.write(`treasury hot key ${rotation.oldAddress} -> ${rotation.newAddress}: ${rotation.status}${rotation.resumed ? ' (completed the rotation under way)' : ''}\n`);
        if (rotation.status === 'draining') process.stderr.write('the old key is not drained yet; the refill job completes it, or run coffer treasury rotate again (coffer rotations --kind treasury_hot_key)\n');
        return 0;
      }
      printJson(await treasuryView(pool, refills));
      return 0;
    } catch (error) {
      if (error instanceof RelayError) throw new UsageError(error.message);
      throw error;
    } finally {
      await writer.close();
    }
  });
}

export async function refillsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    kind: { type: 'string' },
    address: { type: 'string' },
    'entry-point': { type: 'string' },
    'fund-below': { type: 'string' },
    'fund-to': { type: 'string' },
    'daily-cap': { type: 'string' },
    json: { type: 'boolean' },
  });
  const config = loadConfig();
  return withDatabase(3, async (pool) => {
    if (positionals[0] === 'target') {
      if (!values.name || !values.address || (values.kind !== 'balance' && values.kind !== 'entrypoint-deposit')) {
        throw new UsageError('refills target needs --name, --kind balance|entrypoint-deposit, --address and the thresholds');
      }
      for (const [flag, value] of [['--address', values.address], ['--entry-point', values['entry-point']]] as const) {
        if (value !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new UsageError(`${flag} must be a 0x address`);
      }
      try {
        const target = await setRefillTarget(pool, {
          name: values.name,
          kind: values.kind,
          address: getAddress(values.address),
          entryPoint: values['entry-point'] ? (getAddress(values['entry-point'])) : null,
          fundBelow: wei(values['fund-below'], '--fund-below', ''),
          fundTo: wei(values['fund-to'], '--fund-to', ''),
          dailyCap: wei(values['daily-cap'], '--daily-cap', ''),
        });
        printJson(target);
        return 0;
      } catch (error) {
        if (error instanceof RelayError) throw new UsageError(error.message);
        throw error;
      }
    }
    if (positionals[0] === 'list') {
      printJson(await listRefillTargets(pool));
      return 0;
    }
    if (positionals[0] === 'run') {
      const { keys: opened } = await keys(config);
      const writer = new LedgerWriter({ pool });
      try {
        const outcome = await refillPass({ pool, writer, logger: createLogger({ level: 'info' }), client: rpc(config), keys: opened, treasuryKeyName: config.TREASURY_HOT_KEY, treasuryLowBelow: BigInt(config.TREASURY_LOW_BELOW_WEI) });
        printJson(outcome ?? { skipped: 'another refill pass is running' });
        return 0;
      } finally {
        await writer.close();
      }
    }
    throw new UsageError('refills takes "target --name N --kind balance|entrypoint-deposit --address A [--entry-point E] --fund-below W --fund-to W --daily-cap W", "list" or "run"');
  });
}
