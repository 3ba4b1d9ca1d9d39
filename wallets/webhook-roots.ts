// The webhook root and its rotation. Wallet (and alert) webhook secrets derive from one root
// secret in WEBHOOK_ROOT_FILE. Rotating it writes a new root and keeps the old one beside it in
// `<file>.previous` with an end time: until then every webhook is signed with both (one `v1`
// per secret in `Coffer-Signature`), so a receiver may switch to its new secret whenever it
// likes inside the overlap. Processes read the files at each delivery, so a rotation needs no
// restart. Each file is replaced by a rename: it holds the old content or the new, never half.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WalletError } from './wallets.ts';

/** The roots valid at one moment: the current one, and the rotated-out one while its overlap lasts. */
export interface WebhookRoots {
  current: Buffer;
  previous: { root: Buffer; validUntil: Date } | null;
}

/** Where roots come from: the files (`webhookRootFile`), or one fixed root (tests, and callers that never rotate). */
export interface WebhookRootSource {
  read(now?: Date): Promise<WebhookRoots>;
}

export const fixedWebhookRoot = (root: Buffer): WebhookRootSource => ({ read: () => Promise.resolve({ current: root, previous: null }) });

/** A Buffer is one fixed root; anything else already is a source. */
export const webhookRootSource = (root: Buffer | WebhookRootSource): WebhookRootSource => (Buffer.isBuffer(root) ? fixedWebhookRoot(root) : root);

const previousPath = (path: string) => `${path}.previous`;
const decode = (text: string) => Buffer.from(text.trim(), 'base64url');

/**
 * coffer's webhook root secret: 32 random bytes in a file (mode 0600), created on first use.
 * Wallet secrets are derived from it, so neither the database nor a log ever holds one.
 */
export async function loadWebhookRoot(path: string): Promise<Buffer> {
  try {
    return decode(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return decode(await readFile(path, 'utf8'));
}

async function readPrevious(path: string): Promise<{ root: Buffer; validUntil: Date } | null> {
  let text: string;
  try {
    text = await readFile(previousPath(path), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const stored = JSON.parse(text) as { root: string; validUntil: string };
  return { root: decode(stored.root), validUntil: new Date(stored.validUntil) };
}

/** The roots in WEBHOOK_ROOT_FILE and its `.previous`, read at each call (a rotation is seen at once). */
export function webhookRootFile(path: string): WebhookRootSource {
  return {
    async read(now = new Date()) {
      const current = await loadWebhookRoot(path);
      const previous = await readPrevious(path);
      return { current, previous: previous && previous.validUntil > now ? previous : null };
    },
  };
}

async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600, flag: 'w' });
  await rename(temporary, path);
}

/** A root's public name for the audit log: the first 8 bytes of its SHA-256 (says nothing of the root). */
export const webhookRootFingerprint = (root: Uint8Array) => createHash('sha256').update(root).digest('hex').slice(0, 16);

/**
 * A new root; the old one stays valid for `overlapSeconds` from `now`. Refused while an earlier
 * rotation's overlap still runs: dropping that root would cut off receivers still on it.
 */
export async function rotateWebhookRoot(path: string, options: { overlapSeconds: number; now?: Date }): Promise<{ oldFingerprint: string; newFingerprint: string; validUntil: Date }> {
  const now = options.now ?? new Date();
  const old = await loadWebhookRoot(path);
  const earlier = await readPrevious(path);
  if (earlier && earlier.validUntil > now && !earlier.root.equals(old)) {
    throw new WalletError('webhook_root_overlapping', `the previous webhook root is valid until ${earlier.validUntil.toISOString()}; rotate again after that`);
  }
  const validUntil = new Date(now.getTime() + options.overlapSeconds * 1000);
  const fresh = randomBytes(32);
  // The old root is kept first: stopped between the two renames, both files hold the old root and
  // webhooks are signed as before; running the rotation again completes it.
  await replaceFile(previousPath(path), JSON.stringify({ root: old.toString('base64url'), validUntil: validUntil.toISOString() }) + '\n');
  await replaceFile(path, fresh.toString('base64url') + '\n');
  return { oldFingerprint: webhookRootFingerprint(old), newFingerprint: webhookRootFingerprint(fresh), validUntil };
}
