// Moves outbox rows to BullMQ. The outbox id is the job id (`outbox-<id>`), so offering a row twice is one job;
// rows whose work is not done are offered again after a while, so a job lost between commit
// and enqueue, or with a Redis that lost its data (FLUSHDB, a restart without persistence),
// is offered again and runs once. A job that still exists in Redis (waiting, running, failed)
// is left alone by BullMQ when offered again.
import type { Queue } from 'bullmq';
import type { Logger, Pool, PoolClient } from '../infra/index.ts';
import { handBack, listenForOutbox, silentLogger, stopListeningForOutbox, takeDue } from '../infra/index.ts';
import type { QueueName } from './queues.ts';

/** BullMQ refuses integer job ids, so the outbox id is written `outbox-<id>`: still one job per row. */
export const outboxJobId = (id: bigint | string) => `outbox-${id}`;

export interface DispatcherOptions {
  pool: Pool;
  queues: Record<QueueName, Queue>;
  logger?: Logger;
  /** Safety-net poll; commits wake the dispatcher at once through NOTIFY. */
  pollIntervalMs?: number;
  /** How long an offered, unfinished row waits before it is offered again. */
  reofferAfterMs?: number;
  batchSize?: number;
}

export class OutboxDispatcher {
  private readonly options: Required<Omit<DispatcherOptions, 'logger'>> & { logger: Logger };
  private listener: PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failing = false;
  dispatched = 0;

  constructor(options: DispatcherOptions) {
    this.options = { pollIntervalMs: 1_000, reofferAfterMs: 15_000, batchSize: 500, logger: silentLogger, ...options };
  }

  async start(): Promise<void> {
    this.listener = await this.options.pool.connect();
    this.listener.on('notification', () => this.wake());
    // A dropped LISTEN connection would silently leave only the poll; say so and keep polling.
    this.listener.on('error', (error) => this.options.logger.warn('outbox listener connection failed; polling only', { error }));
    await listenForOutbox(this.listener);
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.wake();
  }

  /** Runs a pass now, or once more after the pass in progress. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => {
        if (this.failing) this.options.logger.info('outbox dispatch works again');
        this.failing = false;
      })
      .catch((error: unknown) => {
        // Once per outage, not once per poll: Redis down for an hour is one line, not 3,600.
        if (!this.failing) this.options.logger.warn('outbox dispatch failed; retrying on every poll until it works', { error });
        this.failing = true;
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    const delayOf = (runAfter: Date | null) => (runAfter && runAfter.getTime() > Date.now() ? { delay: runAfter.getTime() - Date.now() } : {});
    for (;;) {
      const rows = await takeDue(this.options.pool, { limit: this.options.batchSize, reofferAfterMs: this.options.reofferAfterMs });
      if (rows.length === 0) return;
      const byQueue = new Map<QueueName, typeof rows>();
      for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
      try {
        for (const [queue, items] of byQueue) {
          await this.options.queues[queue].addBulk(
            items.map((row) => ({ name: row.name, data: { ...row.payload, outboxId: row.id.toString() }, opts: { jobId: outboxJobId(row.id), ...delayOf(row.runAfter) } })),
          );
        }
      } catch (error) {
        // Redis is away: hand the rows back so the next pass offers them at once, not after reofferAfterMs.
        await handBack(this.options.pool, rows.map((r) => r.id));
        throw error;
      }
      this.dispatched += rows.length;
      if (rows.length < this.options.batchSize) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    if (this.listener) {
      await stopListeningForOutbox(this.listener).catch(() => undefined);
      this.listener.release();
      this.listener = null;
    }
  }
}
