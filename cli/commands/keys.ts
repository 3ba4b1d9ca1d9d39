import { createApiKey, revokeApiKey, roles, rotateApiKey, type Role } from '../../access/index.ts';
import { parseOverlapSeconds, RotationError } from '../../rotations/index.ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { loadConfig } from '../../infra/index.ts';
import { ethereumAddress, Keystore, keystorePassphrase, solanaAddress } from '../../signer/index.ts';
import { getUser } from '../../users/index.ts';
import { getWallet } from '../../wallets/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { role: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' }, curve: { type: 'string' }, user: { type: 'string' }, wallet: { type: 'string' }, overlap: { type: 'string' } });
  const [action, id] = positionals;
  if (action === 'create-signing-key') return createSigningKey(values.name, values.curve);
  return withDatabase(1, async (pool) => {
    if (action === 'create') {
      if (!values.role || !roles.includes(values.role as Role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
      if (values.name !== undefined && values.name.length > 200) throw new UsageError('--name is limited to 200 characters');
      if ((values.role === 'user') !== (values.user !== undefined)) throw new UsageError('--user <id> goes with --role user, and only with it');
      if (values.user !== undefined && !(await getUser(pool, values.user))) throw new UsageError(`no user ${values.user}; create one with POST /v1/users`);
      if ((values.role === 'agent') !== (values.wallet !== undefined)) throw new UsageError('--wallet <id> goes with --role agent, and only with it');
      if (values.wallet !== undefined && !(await getWallet(pool, values.wallet))) throw new UsageError(`no wallet ${values.wallet}; create one with POST /v1/wallets`);
      const created = await createApiKey(pool, {
        role: values.role as Role,
        ...(values.name ? { name: values.name } : {}),
        ...(values.user !== undefined ? { userId: values.user } : {}),
        ...(values.wallet !== undefined ? { walletId: values.wallet } : {}),
      });
      if (values.json) printJson({ id: created.id, role: created.role, key: created.key });
      else process.stdout.write(`${created.key}\n`);
      process.stderr.write(`created ${created.role} key ${created.id}; it is shown only once\n`);
      return 0;
    }
    if (action === 'rotate' && id) {
      let overlapSeconds: number;
      try {
        overlapSeconds = parseOverlapSeconds(values.overlap);
      } catch (error) {
        throw error instanceof RotationError ? new UsageError(`--overlap: ${error.message}`) : error;
      }
      const rotated = await rotateApiKey(pool, id, { overlapSeconds, actor: 'cli' });
      if (values.json) printJson({ id: rotated.id, role: rotated.role, key: rotated.key, replaces: rotated.replaces, oldExpiresAt: rotated.oldExpiresAt.toISOString() });
      else process.stdout.write(`${rotated.key}\n`);
      process.stderr.write(`rotated ${rotated.replaces} to ${rotated.id} (shown only once); ${rotated.replaces} is refused from ${rotated.oldExpiresAt.toISOString()}\n`);
      return 0;
    }
    if (action === 'revoke' && id) {
      const revoked = await revokeApiKey(pool, id);
      process.stderr.write(revoked ? `revoked ${id}\n` : `no active key ${id}\n`);
      return revoked ? 0 : 1;
    }
    throw new UsageError('keys takes "create --role <role> [--user <id>] [--wallet <id>]", "rotate <id> [--overlap 24h]", "revoke <id>" or "create-signing-key --name <n> --curve secp256k1|ed25519"');
  });
}

/** A new operational key in the keystore. Prints its public key and address, never the secret. */
async function createSigningKey(name: string | undefined, curve: string | undefined): Promise<number> {
  if (!name) throw new UsageError('create-signing-key needs --name');
  if (curve !== 'secp256k1' && curve !== 'ed25519') throw new UsageError('--curve must be secp256k1 or ed25519');
  const keystore = new Keystore({ directory: loadConfig().COFFER_KEYSTORE_DIR, passphrase: await keystorePassphrase() });
  const created = await keystore.create(name, curve);
  const address =
    curve === 'secp256k1' ? ethereumAddress(secp256k1.Point.fromBytes(created.publicKey).toBytes(false)) : solanaAddress(created.publicKey);
  printJson({ name, curve, publicKey: Buffer.from(created.publicKey).toString('hex'), address });
  return 0;
}
