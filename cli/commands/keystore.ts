// Opening the keystore from configuration, for every command that needs operational keys
// (start, relayers, treasury, refills).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config, Logger } from '../../infra/index.ts';
import { Keystore, keystorePassphrase } from '../../signer/index.ts';

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
  const file = join(dirname(config.COFFER_KEYSTORE_DIR), 'dev-keystore-passphrase');
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
