// A 3-master Redis Cluster on loopback for tests: three `redis-server` processes in cluster mode
// on free ports in a temporary directory, the 16384 slots split between them, no replicas and
// no persistence — so a node killed and started again comes back owning its slots (its
// nodes.conf remembers them) but holding nothing: what Redis lost, coffer must offer again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../devnets/index.ts';
import { stopProcess, type RedisNode } from '../infra/index.ts';

const slotCount = 16_384;
const mastersCount = 3;
const startTimeoutMs = 15_000;
/** How long a silent node may be before the others call it failed; short, so a test sees it soon. */
const nodeTimeoutMs = 2_000;
const directoryPrefix = 'coffer-redis-cluster-';
/** A run that crashed leaves its nodes running: older clusters than this are stopped. */
const staleAfterMs = 3_600_000;

export interface RedisClusterBed {
  nodes: readonly RedisNode[];
  /** For REDIS_CLUSTER_NODES. */
  nodesText: string;
  /** Which node (index into `nodes`) serves the slot of `key` (a hash tag's content decides it). */
  nodeOf(key: string): Promise<number>;
  /** SET on whichever node owns the key. */
  set(key: string, value: string): Promise<void>;
  /** Keys on one node matching a KEYS pattern. */
  keysOn(index: number, pattern: string): Promise<string[]>;
  /** SIGKILL: no shutdown, no save; its slots answer nothing until `restart`. */
  kill(index: number): Promise<void>;
  /** Starts a killed node again on its port and waits until the cluster is whole. */
  restart(index: number): Promise<void>;
  /** FLUSHALL on every master. */
  flushAll(): Promise<void>;
  /** The node's log so far, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Node i owns the slots from firstSlot(i) up to firstSlot(i + 1) - 1. */
const firstSlot = (index: number) => Math.floor((slotCount * index) / mastersCount);

interface Node extends RedisNode {
  busPort: number;
  process: ChildProcess | null;
}

/** SIGKILLs the nodes of clusters left by runs that crashed before their teardown (by their pid files), and removes their directories. */
async function stopStaleClusters(): Promise<void> {
  for (const name of (await readdir(tmpdir())).filter((entry) => entry.startsWith(directoryPrefix))) {
    const directory = join(tmpdir(), name);
    if (Date.now() - (await stat(directory)).mtimeMs < staleAfterMs) continue;
    for (const pidFile of (await readdir(directory)).filter((entry) => entry.endsWith('.pid'))) {
      const pid = Number(await readFile(join(directory, pidFile), 'utf8'));
      // Only if the pid is still a redis-server: a recycled pid belongs to someone else.
      const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (command.startsWith('redis-server')) process.kill(pid, 'SIGKILL');
    }
    await rm(directory, { recursive: true, force: true });
  }
}

export async function startRedisCluster(): Promise<RedisClusterBed> {
  await stopStaleClusters();
  const directory = await mkdtemp(join(tmpdir(), directoryPrefix));
  const nodes: Node[] = [];
  let log = '';
  const launch = (node: Node) => {
    const child = spawn(
      'redis-server',
      [
        '--bind', '127.0.0.1',
        '--port', String(node.port),
        // The bus port is named: the default (port + 10000) is not known to be free.
        '--cluster-port', String(node.busPort),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(directory, `nodes-${node.port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs),
        '--dir', directory,
        '--pidfile', join(directory, `redis-${node.port}.pid`),
        '--save', '',
        '--appendonly', 'no',
        '--protected-mode', 'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk: Buffer) => (log = (log + `[${node.port}] ${chunk.toString()}`).slice(-20_000)));
    child.stderr.on('data', (chunk: Buffer) => (log = (log + `[${node.port}] ${chunk.toString()}`).slice(-20_000)));
    node.process = child;
  };
  const stopAll = async () => {
    await Promise.all(nodes.flatMap((node) => (node.process ? [stopProcess(node.process, 2_000)] : [])));
    await rm(directory, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < mastersCount; i++) nodes.push({ host: '127.0.0.1', port: await freePort(), busPort: await freePort(), process: null });
    for (const node of nodes) launch(node);
    await Promise.all(nodes.map((node) => withNode(node, (redis) => redis.ping(), startTimeoutMs, () => log)));
    // The slots in three ranges, then one MEET per other node: gossip does the rest.
    await Promise.all(
      nodes.map((node, i) => {
        return withNode(node, (redis) => redis.call('CLUSTER', 'ADDSLOTSRANGE', String(firstSlot(i)), String(firstSlot(i + 1) - 1)));
      }),
    );
    for (const node of nodes.slice(1)) await withNode(nodes[0]!, (redis) => redis.call('CLUSTER', 'MEET', node.host, String(node.port), String(node.busPort)));
    await whole(nodes, () => log);
  } catch (error) {
    await stopAll();
    throw error;
  }

  const nodeOf = async (key: string) => {
    const slot = Number(await withNode(nodes[0]!, (redis) => redis.call('CLUSTER', 'KEYSLOT', key)));
    return nodes.findIndex((_, i) => slot >= firstSlot(i) && slot < firstSlot(i + 1));
  };
  return {
    nodes: nodes.map(({ host, port }) => ({ host, port })),
    nodesText: nodes.map((node) => `${node.host}:${node.port}`).join(','),
    nodeOf,
    async set(key, value) {
      const owner = nodes[await nodeOf(key)]!;
      await withNode(owner, (redis) => redis.set(key, value));
    },
    keysOn: (index, pattern) => withNode(nodes[index]!, (redis) => redis.keys(pattern)),
    async kill(index) {
      const node = nodes[index]!;
      if (!node.process) return;
      const child = node.process;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      node.process = null;
    },
    async restart(index) {
      const node = nodes[index]!;
      if (node.process) throw new Error(`redis cluster node ${node.port} is running`);
      launch(node);
      await withNode(node, (redis) => redis.ping(), startTimeoutMs, () => log);
      await whole(nodes, () => log);
    },
    async flushAll() {
      await Promise.all(nodes.map((node) => withNode(node, (redis) => redis.flushall())));
    },
    output: () => log,
    stop: stopAll,
  };
}

/** Runs `work` on a plain connection to one node, retrying connection refusals until `timeoutMs`. */
async function withNode<T>(node: RedisNode, work: (redis: Redis) => Promise<T>, timeoutMs = 0, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const redis = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await work(redis);
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`redis cluster node ${node.port}: ${error instanceof Error ? error.message : String(error)}${context ? `\n${context().slice(-3_000)}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      redis.disconnect();
    }
  }
}

/** Until every node says the cluster is ok and knows all masters. */
async function whole(nodes: readonly RedisNode[], context: () => string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => withNode(node, (redis) => redis.call('CLUSTER', 'INFO') as Promise<string>).catch(() => '')));
    if (infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${nodes.length}`))) return;
    if (Date.now() > deadline) throw new Error(`the redis cluster did not become whole:\n${infos.join('\n')}\n${context().slice(-3_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
