import { createApiKey, revokeApiKey, roles, type Role } from '../../api/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { role: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } });
  const [action, id] = positionals;
  return withDatabase(1, async (pool) => {
    if (action === 'create') {
      if (!values.role || !roles.includes(values.role as Role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
      if (values.name !== undefined && values.name.length > 200) throw new UsageError('--name is limited to 200 characters');
      const created = await createApiKey(pool, { role: values.role as Role, ...(values.name ? { name: values.name } : {}) });
      if (values.json) printJson({ id: created.id, role: created.role, key: created.key });
      else process.stdout.write(`${created.key}\n`);
      process.stderr.write(`created ${created.role} key ${created.id}; it is shown only once\n`);
      return 0;
    }
    if (action === 'revoke' && id) {
      const revoked = await revokeApiKey(pool, id);
      process.stderr.write(revoked ? `revoked ${id}\n` : `no active key ${id}\n`);
      return revoked ? 0 : 1;
    }
    throw new UsageError('keys takes "create --role <role>" or "revoke <id>"');
  });
}
