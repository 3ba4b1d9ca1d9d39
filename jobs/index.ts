// The job system's front door (issue #5): the transactional outbox's dispatcher, the BullMQ
// queues and the workers that run credits/, sweeps/ and relayer/ work, assembled from
// configuration by `startJobSystem`.
export { enqueue, markDone, outboxCounts, type OutboxJob, type OutboxCounts } from '../infra/index.ts';
export { queueNames, openQueues, closeQueues, jobOptions, redisConnection, releaseConnection, type BullPrefix, type QueueName, type QueueSettings } from './queues.ts';
export { OutboxDispatcher, type DispatcherOptions } from './dispatcher.ts';
export { startWorkers, type RunningWorkers, type WorkerOptions } from './workers.ts';
export { startJobSystem, creditSettings, sweepChains, openConfiguredQueues, bullPrefix, type JobSystem } from './system.ts';
