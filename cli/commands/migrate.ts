import { ensureDatabase, loadConfig } from '../../infra/index.ts';
import { migrate } from '../../migrations/index.ts';
import { parse } from './index.ts';

export async function migrateCommand(args: string[]): Promise<number> {
  parse(args, {});
  const config = loadConfig();
  if (await ensureDatabase(config.DATABASE_URL)) process.stderr.write('created the database\n');
  const result = await migrate({
    connectionString: config.DATABASE_URL,
    onApplied: (m) => process.stderr.write(`applied ${String(m.version).padStart(4, '0')}_${m.name}\n`),
  });
  process.stderr.write(`migrations: ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`);
  return 0;
}
