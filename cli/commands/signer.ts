// `coffer signer …`: the remote signer's keys (keystore or MPC-derived), the clients that may use
// them (a token printed once), each key's policy, and the audit trail.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { createLogger, loadConfig } from '../../infra/index.ts';
import {
  createKeystoreSignerKey,
  createMpcSignerKey,
  createSigningClient,
  getSignerKey,
  listSignerEvents,
  listSignerKeys,
  listSigningClients,
  revokeSigningClient,
  setSignerPolicy,
  type SignerKey,
} from '../../remote-signer/index.ts';
import { operationalKeystore } from './keystore.ts';
import { derivationSettings } from './start.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

const keyView = (key: SignerKey) => ({ name: key.name, address: key.address, publicKey: key.publicKey, source: key.source, policyVersion: key.policyVersion });

export async function signerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    mpc: { type: 'boolean' },
    path: { type: 'string' },
    keys: { type: 'string' },
    key: { type: 'string' },
    file: { type: 'string' },
    kind: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [noun, verb, id] = positionals;
  const config = loadConfig();
  const logger = createLogger({ level: 'warn' });
  return withDatabase(2, async (pool) => {
    if (noun === 'keys' && verb === 'create') {
      if (!values.name) throw new UsageError('signer keys create needs --name <n>');
      if (values.path !== undefined && !values.mpc) throw new UsageError('--path goes with --mpc');
      let key: SignerKey;
      if (values.mpc) {
        const { roots } = await derivationSettings(config, logger);
        key = await createMpcSignerKey(pool, { name: values.name, secp256k1Root: roots.secp256k1, predecessor: config.COFFER_NEAR_ACCOUNT, ...(values.path !== undefined ? { path: values.path } : {}) });
      } else {
        const { keystore } = await operationalKeystore(config, logger);
        if (!keystore) throw new UsageError('set COFFER_KEYSTORE_PASSPHRASE (or _FILE): keystore keys are sealed with it (or use --mpc)');
        key = await createKeystoreSignerKey(pool, keystore, values.name);
      }
      if (values.json) printJson({ name: key.name, address: key.address });
      else process.stdout.write(`${key.name} ${key.address}\n`);
      process.stderr.write(`created the ${key.source} key ${key.name}; it signs nothing until it has a policy (coffer signer policy set --key ${key.name} --file <json>)\n`);
      return 0;
    }
    if (noun === 'keys' && verb === 'list') {
      const keys = (await listSignerKeys(pool)).map(keyView);
      if (values.json) printJson(keys);
      else for (const key of keys) process.stdout.write(`${key.name} ${key.address} ${key.source} policy v${key.policyVersion}\n`);
      return 0;
    }
    if (noun === 'clients' && verb === 'create') {
      if (!values.keys) throw new UsageError('signer clients create needs --keys <name>[,<name>…]');
      const created = await createSigningClient(pool, { keyNames: values.keys.split(',').map((name) => name.trim()).filter(Boolean), ...(values.name ? { name: values.name } : {}) });
      if (values.json) printJson({ id: created.id, token: created.token });
      else process.stdout.write(`${created.token}\n`);
      process.stderr.write(`created signing client ${created.id} for ${created.keyNames.join(', ')}; the token is shown only once\n`);
      return 0;
    }
    if (noun === 'clients' && verb === 'list') {
      const clients = (await listSigningClients(pool)).map((client) => ({ id: client.id, name: client.name, keys: client.keyNames, revoked: client.revokedAt !== null }));
      if (values.json) printJson(clients);
      else for (const client of clients) process.stdout.write(`${client.id} ${client.keys.join(',')}${client.revoked ? ' (revoked)' : ''}\n`);
      return 0;
    }
    if (noun === 'clients' && verb === 'revoke' && id) {
      const revoked = await revokeSigningClient(pool, id);
      process.stderr.write(revoked ? `revoked ${id}\n` : `no active signing client ${id}\n`);
      return revoked ? 0 : 1;
    }
    if (noun === 'policy' && verb === 'set') {
      if (!values.key || !values.file) throw new UsageError('signer policy set needs --key <name> --file <policy.json>');
      let document: unknown;
      try {
        document = JSON.parse(await readFile(values.file, 'utf8')) as unknown;
      } catch (error) {
        throw new UsageError(`--file ${values.file} is not a readable JSON file (${error instanceof Error ? error.message : String(error)})`);
      }
      let key: SignerKey;
      try {
        key = await setSignerPolicy(pool, { key: values.key, policy: document, actor: 'cli' });
      } catch (error) {
        if (error instanceof z.ZodError) throw new UsageError(`the policy is not valid: ${error.issues.map((issue) => `${issue.path.join('.') || 'policy'}: ${issue.message}`).join('; ')}`);
        throw error;
      }
      if (values.json) printJson({ key: key.name, version: key.policyVersion, policy: key.policy });
      else process.stdout.write(`${key.name}: policy version ${key.policyVersion}\n`);
      return 0;
    }
    if (noun === 'policy' && verb === 'show') {
      if (!values.key) throw new UsageError('signer policy show needs --key <name>');
      const key = await getSignerKey(pool, values.key);
      if (!key) throw new UsageError(`no signer key named ${values.key}`);
      printJson({ key: key.name, version: key.policyVersion, policy: key.policy });
      return 0;
    }
    if (noun === 'events') {
      const kind = z.enum(['signed', 'refused', 'policy_set']).optional().safeParse(values.kind);
      if (!kind.success) throw new UsageError('--kind is signed, refused or policy_set');
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit is a positive whole number');
      const events = await listSignerEvents(pool, { ...(values.key ? { key: values.key } : {}), ...(kind.data ? { kind: kind.data } : {}), limit });
      if (values.json) printJson(events);
      else for (const event of events) process.stdout.write(`${event.at.toISOString()} ${event.kind} ${event.key} ${event.actor} ${event.method ?? ''} ${event.code ?? event.digest ?? ''}\n`);
      return 0;
    }
    throw new UsageError('signer takes "keys create --name <n> [--mpc [--path <p>]]", "keys list", "clients create --keys <n>[,<m>]", "clients list", "clients revoke <id>", "policy set --key <n> --file <json>", "policy show --key <n>" or "events [--key <n>] [--kind k]"');
  });
}
