// The one alerts module (issue #24): an operational condition — a paymaster deposit or the
// bundler's EOA below its threshold, a refill's daily cap reached, the treasury low, an indexer
// stopped, a sweep failed for good, a sponsored sender throttled — is reported once when it
// appears, not on every pass that sees it: a log line at error level, a signed webhook
// (ALERT_WEBHOOK_URL, `Coffer-Signature: t=…,v1=HMAC-SHA256("<t>.<body>")` like wallet
// webhooks), and a gauge on /metrics while it holds. The memory is a table (alerts_active), so
// passes in different processes and restarts agree on what was already said.
import { createHmac } from 'node:crypto';
import type { Queryable } from './db.ts';
import type { Logger } from './logger.ts';
import { run, db as sqlBuilder } from './sql.ts';

export type AlertType =
  | 'refill.target_low'
  | 'refill.daily_cap_reached'
  | 'treasury.low'
  | 'indexer.stopped'
  | 'sweep.failed'
  | 'sponsor.sender_throttled';

export interface AlertCondition {
  /** What the condition is about, unique within its type (a target name, an indexer, a sweep id). */
  subject: string;
  detail: Record<string, unknown>;
}

const webhookTimeoutMs = 10_000;

/**
 * A webhook body's signature header (alerts and wallet webhooks): t=<unix seconds>, then one
 * v1=<hex HMAC-SHA256 of "<t>.<body>"> per secret — two while a rotated webhook root overlaps
 * its successor (the current secret's first); a receiver accepts a delivery when any v1 matches.
 */
export function signWebhook(secrets: string | readonly string[], body: string, timestampSeconds: number): string {
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) => `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`);
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}

/** Where alerts go, and the secrets they are signed with now (read at each delivery, so a rotated root takes effect without a restart). */
export interface AlertWebhook {
  url: string;
  secrets: () => Promise<readonly string[]>;
}

export class Alerts {
  private readonly db: Queryable;
  private readonly logger: Logger;
  private readonly webhook: AlertWebhook | undefined;

  constructor(options: { db: Queryable; logger: Logger; webhook?: AlertWebhook }) {
    this.db = options.db;
    this.logger = options.logger;
    this.webhook = options.webhook;
  }

  /** Reports the condition unless it is already active; true when it fired now. */
  async raise(type: AlertType, condition: AlertCondition): Promise<boolean> {
    const key = `${type}:${condition.subject}`;
    const inserted = await run(this.db, sqlBuilder.insertInto('alerts_active').values({ key, type, detail: JSON.stringify(condition.detail) }).onConflict((conflict) => conflict.column('key').doNothing()).returning('key'));
    if (inserted.length === 0) return false;
    this.logger.error(`ALERT ${type}`, { subject: condition.subject, ...condition.detail });
    await this.deliver({ type, subject: condition.subject, status: 'firing', ...condition.detail });
    return true;
  }

  /** The condition no longer holds: forget it (a later recurrence fires again). True when it was active. */
  async clear(type: AlertType, subject: string): Promise<boolean> {
    const deleted = await run(this.db, sqlBuilder.deleteFrom('alerts_active').where('key', '=', `${type}:${subject}`).returning('key'));
    if (deleted.length === 0) return false;
    this.logger.info(`alert resolved: ${type}`, { subject });
    await this.deliver({ type, subject, status: 'resolved' });
    return true;
  }

  /** Sets every condition of `type` to exactly `present`: new ones fire, vanished ones clear. */
  async sync(type: AlertType, present: readonly AlertCondition[]): Promise<void> {
    for (const condition of present) await this.raise(type, condition);
    const subjects = new Set(present.map((c) => c.subject));
    const active = await run(this.db, sqlBuilder.selectFrom('alerts_active').select('key').where('type', '=', type));
    for (const { key } of active) {
      const subject = key.slice(type.length + 1);
      if (!subjects.has(subject)) await this.clear(type, subject);
    }
  }

  private async deliver(event: Record<string, unknown>): Promise<void> {
    if (!this.webhook) return;
    const now = new Date();
    const body = JSON.stringify({ id: `alert_${now.getTime()}`, createdAt: now.toISOString(), ...event });
    const host = new URL(this.webhook.url).host;
    try {
      const response = await fetch(this.webhook.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Coffer-Signature': signWebhook(await this.webhook.secrets(), body, Math.floor(now.getTime() / 1000)), 'User-Agent': 'coffer-alerts/1' },
        body,
        signal: AbortSignal.timeout(webhookTimeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) this.logger.warn('alert webhook answered with an error', { host, status: response.status });
    } catch (error) {
      this.logger.warn('alert webhook unreachable', { host, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** Active alerts, for /metrics (`coffer_alert_active{type,subject} 1`). */
export async function activeAlerts(db: Queryable): Promise<{ type: string; subject: string; firedAt: Date }[]> {
  const rows = await run(db, sqlBuilder.selectFrom('alerts_active').select(['key', 'type', 'fired_at']).orderBy('key'));
  return rows.map((row) => ({ type: row.type, subject: row.key.slice(row.type.length + 1), firedAt: row.fired_at }));
}
