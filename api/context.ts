// What every route can reach: the domain, never raw connections to build SQL with.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger, Pool } from '../infra/index.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import type { DerivationSettings } from '../users/index.ts';
import type { WalletKeySettings } from '../wallets/index.ts';
import type { ApiKeyIdentity } from './keys.ts';

export interface ApiDependencies {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  /** Rate limits and readiness; without it, rate limiting is off. */
  redis?: Redis;
  redisKeyPrefix?: string;
  rateLimitPerMinute?: number;
  /** Root keys and networks for deposit addresses; without it, the users routes answer 503. */
  derivation?: DerivationSettings;
  /** Wallet keys (derivation) and the webhook root; without them, creating wallets answers 503. */
  wallets?: { keys: WalletKeySettings; webhookRoot: Buffer };
  /** BullMQ queues shown on the board at /admin/queues (operators); without them, no board. */
  queues?: readonly Queue[];
}

export type AppEnv = { Variables: { identity: ApiKeyIdentity; requestId: string } };
