export { loadConfig, configVariables, ConfigError, type Config } from './config.ts';
export { signerTlsMaterial, type SignerTls } from './signer-tls.ts';
export { CodedError } from './errors.ts';
export { randomId, randomSecret, secretHash, secretMatches } from './random.ts';
export {
  createPool,
  withTransaction,
  ensureDatabase,
  splitDatabaseUrl,
  quoteIdentifier,
  isPgError,
  firstRow,
  pg,
  type Pool,
  type PoolClient,
  type Queryable,
} from './db.ts';
export {
  describeConnectionError,
  openRedis,
  parseRedisNodes,
  redisAddress,
  redisOutageLog,
  redisTarget,
  redisTargetAddress,
  type RedisClient,
  type RedisNode,
  type RedisOutageLog,
  type RedisTarget,
} from './redis.ts';
export { createLogger, silentLogger, type Logger } from './logger.ts';
export { Alerts, activeAlerts, signWebhook, type AlertType, type AlertCondition, type AlertWebhook } from './alerts.ts';
export { superviseCoffer, stopProcess, type SupervisedProcess, type SupervisorState, type SuperviseOptions } from './supervise.ts';
export { enqueue, markDone, takeDue, handBack, listenForOutbox, stopListeningForOutbox, outboxCounts, type OutboxJob, type OutboxRow, type OutboxCounts } from './outbox.ts';
export { jobCatalogue, parseJobPayload, queueNames, JobPayloadError, type CataloguedJob, type JobName, type JobPayload, type QueueName } from './job-catalogue.ts';
export { db as sqlBuilder, run, runFirst, runOne, runCount, sql, withAdvisoryLock, pingDatabase } from './sql.ts';
export type { Database, Json as DatabaseJson } from './schema.ts';
