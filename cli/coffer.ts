#!/usr/bin/env node
// The `coffer` command. Each subcommand lives in cli/commands/; this file only dispatches,
// turns known errors into one readable line, and sets the exit code.
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

/**
 * The error classes told apart below, loaded only when a command failed: their rooms are big,
 * and a command that succeeded (or `--help`) should not pay for loading them.
 */
async function knownErrors() {
  const [{ ConfigError }, { IndexerStoppedError, RewindError }, { LedgerInputError }, { MigrationError }, { DerivationError, KeystoreError }, { RotationError }] = await Promise.all([
    import('../infra/index.ts'),
    import('../indexers/index.ts'),
    import('../ledger/index.ts'),
    import('../migrations/index.ts'),
    import('../signer/index.ts'),
    import('../rotations/index.ts'),
  ]);
  return { ConfigError, IndexerStoppedError, RewindError, LedgerInputError, MigrationError, DerivationError, KeystoreError, RotationError };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    // A room that cannot even load (the error may be that) leaves the error its plain message.
    const known = await knownErrors().catch(() => undefined);
    if (error instanceof UsageError) {
      // The reason and where to read more: the full usage would bury the one line that matters.
      process.stderr.write(`coffer: ${error.message}\nrun 'coffer ${command ? `${name} ` : ''}--help'\n`);
      process.exitCode = 2;
    } else if (known && error instanceof known.IndexerStoppedError) {
      // 3: stopped on purpose (a deep reorg); a supervisor must not simply restart it.
      process.stderr.write(`coffer: ${error.message}\n`);
      process.exitCode = 3;
    } else if (error instanceof Error && known && [known.RewindError, known.ConfigError, known.MigrationError, known.LedgerInputError, known.DerivationError, known.KeystoreError, known.RotationError].some((errorClass) => error instanceof errorClass)) {
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
