#!/usr/bin/env node
// The `coffer` command. Each subcommand lives in cli/commands/; this file only dispatches,
// turns known errors into one readable line, and sets the exit code.
import { ConfigError } from '../infra/index.ts';
import { IndexerStoppedError, RewindError } from '../indexers/index.ts';
import { LedgerInputError } from '../ledger/index.ts';
import { MigrationError } from '../migrations/index.ts';
import { DerivationError, KeystoreError } from '../signer/index.ts';
import { RotationError } from '../rotations/index.ts';
import { commands, commandUsage, UsageError, usage } from './commands/index.ts';

const [name, ...rest] = process.argv.slice(2);
const command = name !== undefined && Object.hasOwn(commands, name) ? commands[name] : undefined;

async function main(): Promise<number> {
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  if (!command) throw new UsageError(`unknown command "${name}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(name, command));
    return 0;
  }
  return command.run(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      // The reason and where to read more: the full usage would bury the one line that matters.
      process.stderr.write(`coffer: ${error.message}\nrun 'coffer ${command ? `${name} ` : ''}--help'\n`);
      process.exitCode = 2;
    } else if (error instanceof IndexerStoppedError) {
      // 3: stopped on purpose (a deep reorg); a supervisor must not simply restart it.
      process.stderr.write(`coffer: ${error.message}\n`);
      process.exitCode = 3;
    } else if (error instanceof RewindError || error instanceof ConfigError || error instanceof MigrationError || error instanceof LedgerInputError || error instanceof DerivationError || error instanceof KeystoreError || error instanceof RotationError) {
      process.stderr.write(`coffer: ${error.message}\n`);
      process.exitCode = 1;
    } else if (error instanceof Error && 'code' in error && error.code === 'ECONNREFUSED') {
      process.stderr.write(`coffer: cannot reach a server (${error.message}); is PostgreSQL or Redis running? see README "Configuration"\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`coffer: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
