// `coffer paymaster …`: the sponsorship policy (the same document as PUT /v1/paymaster/policy),
// the recorded decisions, and the reconciliation of paymaster deposits against the EntryPoint.
import { readFile } from 'node:fs/promises';
import { createPublicClient, http, type PublicClient } from 'viem';
import { ZodError } from 'zod';
import { loadConfig } from '../../infra/index.ts';
import { evmIndexer, reconcilePaymasterDeposits } from '../../indexers/index.ts';
import { currentSponsorPolicy, listDecisions, setSponsorPolicy } from '../../sponsor/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function paymasterCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { file: { type: 'string' }, sender: { type: 'string' }, rpc: { type: 'string' } });
  const [what, action] = positionals;
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
  throw new UsageError('paymaster takes "policy set --file <json>", "policy show", "decisions [--sender <address>]" or "reconcile [--rpc <url>]"');
}
