// A PostgreSQL primary and a streaming read replica of it, on free loopback ports, in a temporary
// directory. The shared test server cannot be the primary: its pg_hba.conf allows no replication
// connections, and a base backup of it would copy every other test's databases. So the harness
// makes its own small cluster with the server's binaries: `initdb` a primary, `pg_basebackup -R`
// a replica from it (the replica streams from the primary from then on), both with fsync off.
// As root (a container, CI) the servers run as the `postgres` account: PostgreSQL refuses root.
import { execFile, execFileSync } from 'node:child_process';
import { access, chown, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../devnets/index.ts';
import { createPool, pg, type Pool } from '../infra/index.ts';

const run = promisify(execFile);
const startTimeoutMs = 30_000;
const directoryPrefix = 'coffer-pg-replica-';
/** pg_ctl daemonizes the servers, so a run that crashed leaves them running: older beds than this are stopped. */
const staleAfterMs = 3_600_000;

export interface PgReplicaBed {
  /** The primary's database (migrate it, write to it) and the same database on the replica. */
  primaryUrl: string;
  replicaUrl: string;
  /** Stops applying WAL on the replica (it still receives it): reads there stay where they are. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Until the replica has applied everything the primary has written so far. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/** Where the server's own tools are: pg_config knows; Debian keeps them out of PATH. */
function binDirectory(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return '/usr/local/bin';
  }
}

/** The account the servers run as: ours, or `postgres` when we are root. */
async function serverAccount(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('running as root, and there is no postgres account to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Stops the servers of beds left by runs that crashed before their teardown, and removes their directories. */
async function stopStaleBeds(bin: string, account: { uid: number; gid: number } | null): Promise<void> {
  for (const name of (await readdir(tmpdir())).filter((entry) => entry.startsWith(directoryPrefix))) {
    const directory = join(tmpdir(), name);
    if (Date.now() - (await stat(directory)).mtimeMs < staleAfterMs) continue;
    for (const dataDir of ['replica', 'primary'].map((server) => join(directory, server))) {
      const running = await access(join(dataDir, 'postmaster.pid')).then(() => true, () => false);
      if (running) await run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { ...(account ?? {}), timeout: startTimeoutMs }).catch(() => undefined);
    }
    await rm(directory, { recursive: true, force: true });
  }
}

export async function startPgReplica(options: { database?: string } = {}): Promise<PgReplicaBed> {
  const database = options.database ?? 'coffer';
  const bin = binDirectory();
  const account = await serverAccount();
  await stopStaleBeds(bin, account);
  const directory = await mkdtemp(join(tmpdir(), directoryPrefix));
  if (account) await chown(directory, account.uid, account.gid);
  const tool = (name: string, args: string[]) => run(join(bin, name), args, { ...(account ?? {}), cwd: directory, timeout: startTimeoutMs });
  const user = userInfo().username;
  const primaryDir = join(directory, 'primary');
  const replicaDir = join(directory, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started: string[] = [];
  const serverOptions = (port: number) => `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const startServer = async (dataDir: string, port: number) => {
    await tool('pg_ctl', ['-D', dataDir, '-o', serverOptions(port), '-l', `${dataDir}.log`, '-w', '-t', '30', 'start']);
    started.push(dataDir);
  };
  const stop = async () => {
    for (const dataDir of started.reverse()) await tool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  };
  const url = (port: number) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`;

  let replica: Pool | null = null;
  let primary: Pool | null = null;
  try {
    // initdb's pg_hba.conf trusts loopback, replication included; the superuser is named after us so URLs need no user.
    await tool('initdb', ['-D', primaryDir, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await startServer(primaryDir, primaryPort);
    const admin = new pg.Client({ connectionString: `postgres://${encodeURIComponent(user)}@127.0.0.1:${primaryPort}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`).finally(() => admin.end());
    // -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
    await tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', user, '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    await startServer(replicaDir, replicaPort);
    primary = createPool({ connectionString: url(primaryPort), max: 2, applicationName: 'coffer-test-replica-bed' });
    replica = createPool({ connectionString: url(replicaPort), max: 2, applicationName: 'coffer-test-replica-bed' });
    const { rows } = await replica.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    if (!rows[0]?.standby) throw new Error('the replica is not in recovery: it would not follow the primary');
  } catch (error) {
    await replica?.end();
    await primary?.end();
    const logs = await Promise.all([primaryDir, replicaDir].map((dir) => readFile(`${dir}.log`, 'utf8').catch(() => '')));
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs.join('\n').slice(-3_000)}`);
  }
  const replicaPool = replica;
  const primaryPool = primary;

  return {
    primaryUrl: url(primaryPort),
    replicaUrl: url(replicaPort),
    async pauseReplay() {
      await replicaPool.query('SELECT pg_wal_replay_pause()');
      // Pausing is asynchronous: wait until replay has actually stopped.
      const deadline = Date.now() + startTimeoutMs;
      for (;;) {
        const { rows } = await replicaPool.query<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state');
        if (rows[0]?.state === 'paused') return;
        if (Date.now() > deadline) throw new Error(`replay did not pause (state ${rows[0]?.state})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async resumeReplay() {
      await replicaPool.query('SELECT pg_wal_replay_resume()');
    },
    async caughtUp() {
      const { rows } = await primaryPool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + startTimeoutMs;
      for (;;) {
        const replayed = await replicaPool.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [rows[0]!.lsn]);
        if (replayed.rows[0]?.done) return;
        if (Date.now() > deadline) throw new Error(`the replica did not replay up to ${rows[0]!.lsn}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      await replicaPool.end();
      await primaryPool.end();
      await stop();
    },
  };
}
