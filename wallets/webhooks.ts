// Webhooks for spend status changes. Each status change writes an outbox row in its own
// transaction (spends.ts `transition`); the webhooks job delivers it here, and BullMQ retries a
// failed delivery with exponential backoff. Receivers check `Coffer-Signature`:
//   t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the wallet's secret>
// with one v1 per valid secret (two while a rotated webhook root overlaps its successor, the
// current secret's first): a delivery is genuine when any v1 matches. Receivers may drop a
// delivery they saw before by its `Coffer-Event-Id` (retries resend it).
import { signWebhook, type Logger, type Pool } from '../infra/index.ts';
import { getSpend } from './spends.ts';
import { spendView } from './views.ts';
import { getWallet, WalletError, webhookSecret } from './wallets.ts';
import type { WebhookRootSource } from './webhook-roots.ts';

export const webhookTimeoutMs = 10_000;

/** Written once, in infra/alerts.ts: wallet webhooks and operational alerts sign alike. */
export { signWebhook };

/** The secrets a key derived from the root signs with now: the current root's, then the previous one's while it overlaps. */
export async function webhookSecrets(source: WebhookRootSource, derive: (root: Uint8Array) => string, now?: Date): Promise<string[]> {
  const roots = await source.read(now);
  return [derive(roots.current), ...(roots.previous ? [derive(roots.previous.root)] : [])];
}

export interface WebhookContext {
  pool: Pool;
  logger: Logger;
  roots: WebhookRootSource;
  /** The clock a rotated root's overlap is judged by (the system's when absent). */
  now?: () => Date;
}

/** Delivers one status change; throws on anything but a 2xx so the job is retried. */
export async function deliverSpendWebhook(context: WebhookContext, spendId: string, status: string): Promise<{ delivered: boolean; httpStatus?: number }> {
  const spend = await getSpend(context.pool, spendId);
  if (!spend) return { delivered: false };
  const wallet = await getWallet(context.pool, spend.walletId);
  if (!wallet?.webhookUrl) return { delivered: false };
  const eventId = `evt_${spend.id}_${status}`;
  const body = JSON.stringify({ id: eventId, type: `spend.${status}`, createdAt: new Date().toISOString(), data: { ...spendView(spend), status } });
  const secrets = await webhookSecrets(context.roots, (root) => webhookSecret(root, wallet.id), context.now?.());
  const signature = signWebhook(secrets, body, Math.floor(Date.now() / 1000));
  const response = await fetch(wallet.webhookUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Coffer-Event-Id': eventId, 'Coffer-Signature': signature, 'User-Agent': 'coffer-webhooks/1' },
    body,
    signal: AbortSignal.timeout(webhookTimeoutMs),
  });
  await response.body?.cancel();
  // Only the host is named: a webhook URL may carry a token in its path or query.
  if (!response.ok) throw new WalletError('webhook_failed', `webhook to ${new URL(wallet.webhookUrl).host} answered ${response.status}; will retry`);
  return { delivered: true, httpStatus: response.status };
}
