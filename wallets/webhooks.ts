// Webhooks for spend status changes. Each status change writes an outbox row in its own
// transaction (spends.ts `transition`); the webhooks job delivers it here, and BullMQ retries a
// failed delivery with exponential backoff. Receivers check `Coffer-Signature`:
//   t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the wallet's secret>
// and may drop a delivery they saw before by its `Coffer-Event-Id` (retries resend it).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { signWebhook, type Logger, type Pool } from '../infra/index.ts';
import { getSpend } from './spends.ts';
import { spendView } from './views.ts';
import { getWallet, webhookSecret } from './wallets.ts';

export const webhookTimeoutMs = 10_000;

/**
 * coffer's webhook root secret: 32 random bytes in a file (mode 0600), created on first use.
 * Wallet secrets are derived from it, so neither the database nor a log ever holds one.
 */
export async function loadWebhookRoot(path: string): Promise<Buffer> {
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
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
  return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
}

/** Written once, in infra/alerts.ts: wallet webhooks and operational alerts sign alike. */
export { signWebhook };

export interface WebhookContext {
  pool: Pool;
  logger: Logger;
  root: Buffer;
}

/** Delivers one status change; throws on anything but a 2xx so the job is retried. */
export async function deliverSpendWebhook(context: WebhookContext, spendId: string, status: string): Promise<{ delivered: boolean; httpStatus?: number }> {
  const spend = await getSpend(context.pool, spendId);
  if (!spend) return { delivered: false };
  const wallet = await getWallet(context.pool, spend.walletId);
  if (!wallet?.webhookUrl) return { delivered: false };
  const eventId = `evt_${spend.id}_${status}`;
  const body = JSON.stringify({ id: eventId, type: `spend.${status}`, createdAt: new Date().toISOString(), data: { ...spendView(spend), status } });
  const signature = signWebhook(webhookSecret(context.root, wallet.id), body, Math.floor(Date.now() / 1000));
  const response = await fetch(wallet.webhookUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Coffer-Event-Id': eventId, 'Coffer-Signature': signature, 'User-Agent': 'coffer-webhooks/1' },
    body,
    signal: AbortSignal.timeout(webhookTimeoutMs),
  });
  await response.body?.cancel();
  // Only the host is named: a webhook URL may carry a token in its path or query.
  if (!response.ok) throw new Error(`webhook to ${new URL(wallet.webhookUrl).host} answered ${response.status}; will retry`);
  return { delivered: true, httpStatus: response.status };
}
