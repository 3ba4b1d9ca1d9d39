// `coffer paymaster …`: the sponsorship policy (the same document as PUT /v1/paymaster/policy),
// the recorded decisions, the reconciliation of paymaster deposits against the EntryPoint, and
// the rotation of the paymaster's signing key (the same as POST /v1/paymaster/signer/rotate).
import { readFile } from 'node:fs/promises';
import { createPublicClient, http, type PublicClient } from 'viem';
import { ZodError } from 'zod';
import { createLogger, loadConfig } from '../../infra/index.ts';
import { evmIndexer, reconcilePaymasterDeposits } from '../../indexers/index.ts';
import { parseOverlapSeconds } from '../../rotations/index.ts';
import { activeSignerKeyName, currentSponsorPolicy, listDecisions, listPaymasterSignerRotations, paymasterSignerRotation, rotatePaymasterSigner, setSponsorPolicy, signerRotationView } from '../../sponsor/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';
import { operationalKeystore } from './keystore.ts';


export async function paymasterCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { file: { type: 'string' }, sender: { type: 'string' }, rpc: { type: 'string' }, overlap: { type: 'string' }, json: { type: 'boolean' } });
  const [what, action] = positionals;
  if (what === 'signer' && (action === 'rotate' || action === 'show')) {
    const config = loadConfig();
    const logger = createLogger({ level: 'warn' });
    const { keystore } = await operationalKeystore(config, logger);
    if (!keystore) throw new UsageError('the paymaster signer lives in the keystore: set COFFER_KEYSTORE_PASSPHRASE (or _FILE)');
    return withDatabase(2, async (pool) => {
      const rotation = paymasterSignerRotation({ config, pool, logger, keystore });
      if (!rotation) throw new UsageError('the paymaster signer rotation needs EVM_RPC_URL and EVM_PAYMASTER_ADDRESS');
      if (action === 'show') {
        const view = { paymaster: rotation.paymaster, activeKey: await activeSignerKeyName(pool, rotation.paymaster, rotation.initialKeyName), rotations: (await listPaymasterSignerRotations(pool, rotation.paymaster)).map(signerRotationView) };
        printJson(view);
        return 0;
      }
      // Waits while another rotation of this paymaster runs; resumes one that was stopped.
      const rotated = signerRotationView(await rotatePaymasterSigner(rotation, { overlapSeconds: parseOverlapSeconds(values.overlap), actor: 'cli' }));
      if (values.json) printJson(rotated);
      else process.stdout.write(`${rotated.newAddress}\n`);
      process.stderr.write(`the paymaster signs with ${rotated.newKeyName} (${rotated.newAddress}) from now on; ${rotated.oldAddress} leaves its signer set after ${rotated.retireAfter} and once what it signed has expired (the workers' refill pass, or the next rotation, retires it)\n`);
      return 0;
    });
  }
  if (what === 'policy' && action === 'set') {
    if (!values.file) throw new UsageError('paymaster policy set takes --file <policy.json>');
    let document: unknown;
    try {
      document = JSON.parse(await readFile(values.file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read ${values.file} as JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    return withDatabase(1, async (pool) => {
      try {
        const stored = await setSponsorPolicy(pool, document, 'cli');
        printJson({ version: stored.version, policy: stored.document });
        return 0;
      } catch (error) {
        if (!(error instanceof ZodError)) throw error;
        throw new UsageError(`the policy is not valid: ${error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
      }
    });
  }
  if (what === 'policy' && action === 'show') {
    return withDatabase(1, async (pool) => {
      const stored = await currentSponsorPolicy(pool);
      printJson(stored ? { version: stored.version, policy: stored.document, setBy: stored.setBy, createdAt: stored.createdAt } : null);
      return stored ? 0 : 1;
    });
  }
  if (what === 'decisions') {
    if (values.sender !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(values.sender)) throw new UsageError('--sender must be a 0x address');
    return withDatabase(1, async (pool) => {
      printJson(await listDecisions(pool, values.sender ? { sender: values.sender } : {}));
      return 0;
    });
  }
  if (what === 'reconcile') {
    const rpcUrl = values.rpc ?? loadConfig().EVM_RPC_URL;
    if (!rpcUrl || !/^https?:\/\//.test(rpcUrl)) throw new UsageError('paymaster reconcile reads the chain: pass --rpc <url> or set EVM_RPC_URL');
    const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, timeout: 10_000 }) }) as PublicClient;
    return withDatabase(2, async (pool) => {
      const lines = await reconcilePaymasterDeposits(pool, client, evmIndexer);
      printJson(lines);
      return lines.every((line) => line.ok) ? 0 : 1;
    });
  }
  throw new UsageError('paymaster takes "policy set --file <json>", "policy show", "decisions [--sender <address>]", "reconcile [--rpc <url>]" or "signer rotate [--overlap <duration>] [--json]" | "signer show"');
}
