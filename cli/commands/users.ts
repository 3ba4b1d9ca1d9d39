// `coffer users import-near-key`: a NEAR account's private key into the encrypted keystore, read
// from standard input (an argument would sit in the shell's history and in `ps`). The key must
// be a full-access key of the account on chain (NEAR_RPC_URL), or it is refused. `--user <id>`
// imports a user's key (coffer sweeps and calls the MPC contract as that account);
// `--account <COFFER_NEAR_ACCOUNT>` imports coffer's own account key (signing refills, storage
// deposits). Only the public key is printed.
import { accessKeyKind } from '../../chains/index.ts';
import { createLogger, loadConfig } from '../../infra/index.ts';
import { importNearKey, NearKeyError } from '../../signer/index.ts';
import { getUser } from '../../users/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';
import { operationalKeystore } from './keystore.ts';

/** A private key is a line of at most a few hundred characters; more is not a key. */
const stdinBytesMax = 4_096;

async function readStandardInput(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('paste the key (ed25519:…) and press Ctrl-D\n');
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > stdinBytesMax) throw new UsageError(`standard input holds more than ${stdinBytesMax} bytes; expected one key`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) throw new UsageError('no key on standard input');
  return text;
}

export async function usersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { user: { type: 'string' }, account: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals[0] !== 'import-near-key') throw new UsageError('users takes "import-near-key --user <id>" or "import-near-key --account <COFFER_NEAR_ACCOUNT>" (the key on standard input)');
  if ((values.user === undefined) === (values.account === undefined)) throw new UsageError('import-near-key takes --user <id> or --account <coffer\'s NEAR account>, one of them');
  const config = loadConfig();
  const rpcUrl = config.NEAR_RPC_URL;
  if (!rpcUrl) throw new UsageError('set NEAR_RPC_URL: the key is checked on chain before it is stored');
  if (values.account !== undefined && values.account !== config.COFFER_NEAR_ACCOUNT) throw new UsageError(`--account must be coffer's own NEAR account (COFFER_NEAR_ACCOUNT=${config.COFFER_NEAR_ACCOUNT}); users' keys go with --user`);
  const accountId = values.account ?? (await withDatabase(1, async (pool) => (await getUser(pool, values.user!))?.nearAccountId));
  if (!accountId) throw new UsageError(`no user ${values.user}`);
  const { keystore } = await operationalKeystore(config, createLogger({ level: config.LOG_LEVEL }));
  if (!keystore) throw new UsageError('set COFFER_KEYSTORE_PASSPHRASE (or _FILE): keys are sealed in the keystore');
  const privateKey = await readStandardInput();
  try {
    const imported = await importNearKey({ keystore, accountId, privateKey, accessKeyKind: (account, publicKey) => accessKeyKind(rpcUrl, account, publicKey) });
    if (values.json) printJson({ ...(values.user !== undefined ? { userId: values.user } : {}), ...imported });
    else process.stdout.write(`${imported.status === 'imported' ? 'imported' : 'already imported'}: ${imported.publicKey} for ${accountId}\n`);
    return 0;
  } catch (error) {
    if (error instanceof NearKeyError) {
      process.stderr.write(`refused: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
