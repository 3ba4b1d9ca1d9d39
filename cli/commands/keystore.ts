// Opening the keystore from configuration, for every command that needs operational keys
// (start, relayers, treasury, refills).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createLogger, loadConfig, type Config, type Logger } from '../../infra/index.ts';
import { recordRotation } from '../../rotations/index.ts';
import { Keystore, keystorePassphrase, rekeyKeystore } from '../../signer/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

const developmentPassphraseFile = (config: Config) => join(dirname(config.COFFER_KEYSTORE_DIR), 'dev-keystore-passphrase');

/**
 * The keystore passphrase. With the emulator (the development default) and no passphrase
 * configured, one is generated into a file beside the keystore (mode 0600, git-ignored) so a
 * fresh machine needs no set-up. Production sets COFFER_KEYSTORE_PASSPHRASE(_FILE).
 */
// One warning per process, however many parts of it open the keystore.
let developmentPassphraseWarned = false;

export async function developmentPassphrase(config: Config, logger: Logger): Promise<string> {
  let passphrase = process.env.COFFER_KEYSTORE_PASSPHRASE;
  if (!passphrase && process.env.COFFER_KEYSTORE_PASSPHRASE_FILE) passphrase = (await readFile(process.env.COFFER_KEYSTORE_PASSPHRASE_FILE, 'utf8')).trimEnd();
  if (passphrase) return passphrase;
  const file = developmentPassphraseFile(config);
  const stored = await readFile(file, 'utf8').then((text) => text.trimEnd(), async () => {
    const generated = randomBytes(24).toString('base64url');
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': a second process starting at the same moment must not overwrite the first's file.
    await writeFile(file, generated + '\n', { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return (await readFile(file, 'utf8')).trimEnd();
  });
  if (!developmentPassphraseWarned) logger.warn('using a development keystore passphrase from a local file; set COFFER_KEYSTORE_PASSPHRASE in production', { file });
  developmentPassphraseWarned = true;
  return stored;
}

/**
 * The keystore operational keys (relayers, the treasury hot wallet) are opened from. Without a
 * passphrase (and outside the emulator's development set-up) there is none: relayer routes
 * answer 503 and no refill runs, which the log says.
 */
export async function operationalKeystore(config: Config, logger: Logger): Promise<{ keystore?: Keystore }> {
  if (config.SIGNER_BACKEND === 'emulator') return { keystore: new Keystore({ directory: config.COFFER_KEYSTORE_DIR, passphrase: await developmentPassphrase(config, logger) }) };
  try {
    return { keystore: new Keystore({ directory: config.COFFER_KEYSTORE_DIR, passphrase: await keystorePassphrase() }) };
  } catch {
    logger.warn('no keystore passphrase: the relayer and refills are off (set COFFER_KEYSTORE_PASSPHRASE)');
    return {};
  }
}

/**
 * `coffer keystore rekey --new-passphrase-file <f>`: every key sealed again under the new
 * passphrase (signer/rekey.ts; run it again after an interruption and it finishes). The
 * passphrase is read from a file, never from the command line, where `ps` would show it.
 */
export async function keystoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'new-passphrase-file': { type: 'string' }, json: { type: 'boolean' } });
  if (positionals[0] !== 'rekey' || positionals.length !== 1) throw new UsageError('keystore takes "rekey --new-passphrase-file <path>"');
  if (!values['new-passphrase-file']) throw new UsageError('rekey needs --new-passphrase-file <path> (a file holding the new passphrase; never the command line)');
  const config = loadConfig();
  const newPassphrase = (await readFile(values['new-passphrase-file'], 'utf8')).trimEnd();
  const fromEnvironment = Boolean(process.env.COFFER_KEYSTORE_PASSPHRASE || process.env.COFFER_KEYSTORE_PASSPHRASE_FILE);
  const oldPassphrase = config.SIGNER_BACKEND === 'emulator' ? await developmentPassphrase(config, createLogger({ level: 'error' })) : await keystorePassphrase();
  const report = await rekeyKeystore({ directory: config.COFFER_KEYSTORE_DIR, oldPassphrase, newPassphrase });
  // The development passphrase lives in a file of ours: it follows the keys, or nothing could open them.
  if (!fromEnvironment) await replaceFile(developmentPassphraseFile(config), newPassphrase + '\n');
  await withDatabase(1, (pool) =>
    recordRotation(pool, {
      kind: 'keystore_passphrase',
      subject: config.COFFER_KEYSTORE_DIR,
      step: 'rotated',
      actor: 'cli',
      detail: { rekeyed: report.rekeyed, alreadyNew: report.alreadyNew, leftoversRemoved: report.leftoversRemoved },
    }),
  );
  if (values.json) printJson(report);
  else process.stdout.write(`re-encrypted ${report.rekeyed.length} key(s)${report.alreadyNew.length ? `; ${report.alreadyNew.length} already were` : ''}\n`);
  process.stderr.write(
    fromEnvironment
      ? 'now set COFFER_KEYSTORE_PASSPHRASE(_FILE) to the new passphrase everywhere, then restart; running processes keep the keys they have opened\n'
      : `the development passphrase file ${developmentPassphraseFile(config)} now holds the new passphrase\n`,
  );
  return 0;
}

async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}
