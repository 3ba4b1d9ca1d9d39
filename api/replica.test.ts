// The auditor endpoints on a streaming read replica (testing/pg-replica.ts): they answer from
// it, and a read that names a sequence the replica has not replayed waits for it or answers 503
// replica_behind — never the older state. Replay is paused with pg_wal_replay_pause(), so the
// replica lags exactly when the test says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPgReplica, type PgReplicaBed } from '../testing/pg-replica.ts';
import { eventually } from '../testing/evm-world.ts';
import { createPool, silentLogger, type Pool } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { migrate } from '../migrations/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from './index.ts';

let bed: PgReplicaBed;
let primary: Pool;
let replica: Pool;
let writer: LedgerWriter;
let operator: string;
let auditor: string;
/** The app as `coffer start` builds it with DATABASE_READ_URL, waiting up to `waitMs` for the replica. */
const appWaiting = (waitMs: number) => createApp({ pool: primary, readPool: replica, replicaWaitMs: waitMs, writer, logger: silentLogger });
let app: ReturnType<typeof createApp>;

before(async () => {
  bed = await startPgReplica();
  await migrate({ connectionString: bed.primaryUrl });
  primary = createPool({ connectionString: bed.primaryUrl, max: 4 });
  replica = createPool({ connectionString: bed.replicaUrl, max: 4 });
  writer = new LedgerWriter({ pool: primary });
  app = appWaiting(10_000);
  operator = (await createApiKey(primary, { role: 'operator', name: 'ops' })).key;
  auditor = (await createApiKey(primary, { role: 'auditor', name: 'audit' })).key;
  await bed.caughtUp();
});

after(async () => {
  await writer?.close();
  await primary?.end();
  await replica?.end();
  await bed?.stop();
});

const get = async (path: string, headers: Record<string, string> = {}, on = app): Promise<Response> => on.request(path, { headers: { authorization: `Bearer ${auditor}`, ...headers } });
let keys = 0;
async function postEntry(amount: string): Promise<bigint> {
  const response = await app.request('/v1/ledger/entries', {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json', 'idempotency-key': `replica-${++keys}` },
    body: JSON.stringify({ reason: 'opening balance', postings: [{ source: 'world:ethereum', destination: 'custody:ethereum:0xreplica', asset: 'ETH', amount }] }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  const id = BigInt(((await response.json()) as { id: string }).id);
  assert.equal(response.headers.get('x-journal-sequence'), id.toString(), 'a write says the sequence a later read can ask for');
  return id;
}
const balance = async (response: Response) => ((await response.json()) as { data: { balance: string }[] }).data[0]?.balance;

describe('ledger reads on a read replica', () => {
  test('the auditor endpoints answer from the replica: entries, balances, a statement, the trial balance; verify stays on the primary', async () => {
    const id = await postEntry('100');
    await bed.caughtUp();
    await bed.pauseReplay();
    try {
      // Written on the primary while the replica stands still: a read that does not ask for it sees the replica's state, and says which.
      await postEntry('5');
      const stale = await get('/v1/ledger/balances?account=custody:ethereum:0xreplica&asset=ETH');
      assert.equal(stale.status, 200);
      assert.equal(await balance(stale), '100', 'the replica, not the primary, answered');
      assert.equal(stale.headers.get('x-journal-sequence'), id.toString());
    } finally {
      await bed.resumeReplay();
    }
    await bed.caughtUp();
    const fresh = await get('/v1/ledger/balances?account=custody:ethereum:0xreplica&asset=ETH');
    assert.equal(await balance(fresh), '105');
    for (const path of ['/v1/ledger/entries?limit=5', `/v1/ledger/entries/${id}`, '/v1/ledger/accounts/custody:ethereum:0xreplica/statement?asset=ETH', '/v1/ledger/trial-balance', '/v1/ledger/assets']) {
      const response = await get(path);
      assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
      assert.ok(BigInt(response.headers.get('x-journal-sequence')!) >= id + 1n, path);
    }
    // verify rebuilds projections in temporary tables, which a hot standby refuses: it checks the primary.
    const verify = await get('/v1/ledger/verify');
    assert.equal(verify.status, 200, await verify.clone().text());
    assert.equal(((await verify.json()) as { ok: boolean }).ok, true);
    assert.equal(verify.headers.get('x-journal-sequence'), null, 'not a replica read');
    const ready = await app.request('/ready');
    assert.deepEqual(((await ready.json()) as { checks: object }).checks, { postgres: 'ok', replica: 'ok' });
  });

  test('a read asking for a sequence the replica has not replayed waits for it, and answers with it', async () => {
    await bed.pauseReplay();
    let answered: Response | null = null;
    let pending: Promise<Response> | null = null;
    try {
      const id = await postEntry('7');
      const { rows } = await replica.query<{ head: bigint | null }>('SELECT max(id) AS head FROM journal_entries');
      assert.ok(rows[0]!.head! < id, 'the replica has not replayed the write');
      // Each time the read looks at the replica it takes a connection from the replica's pool.
      let looks = 0;
      const look = () => void (looks += 1);
      replica.on('acquire', look);
      pending = get(`/v1/ledger/balances?account=custody:ethereum:0xreplica&asset=ETH&minSequence=${id}`).then((response) => (answered = response));
      // While replay stands still the read can only look again: it must not answer with the state before `id`.
      await eventually('the read looking at the lagging replica three times', () => Promise.resolve(looks >= 3));
      replica.off('acquire', look);
      assert.equal(answered, null, 'no answer while the replica lags');
    } finally {
      await bed.resumeReplay();
    }
    const response = await pending;
    assert.equal(response.status, 200);
    assert.equal(await balance(response), '112', 'the state that includes the write');
  });

  test('a replica still behind after the wait answers 503 replica_behind with the sequence it has; so do cursors, asOfSequence and unreplayed entries', async () => {
    const impatient = appWaiting(200);
    await bed.caughtUp();
    await bed.pauseReplay();
    try {
      const { rows } = await replica.query<{ head: bigint }>('SELECT max(id) AS head FROM journal_entries');
      const replayed = rows[0]!.head;
      const id = await postEntry('1');
      const asked = [
        [`/v1/ledger/balances?account=custody:ethereum:0xreplica&asset=ETH&minSequence=${id}`, {}],
        ['/v1/ledger/balances?account=custody:ethereum:0xreplica&asset=ETH', { 'x-min-sequence': id.toString() }],
        [`/v1/ledger/trial-balance?asOfSequence=${id}`, {}],
        [`/v1/ledger/entries?after=${id}`, {}],
        [`/v1/ledger/accounts/custody:ethereum:0xreplica/statement?asset=ETH&after=${id}`, {}],
        [`/v1/ledger/entries/${id}`, {}],
      ] as const;
      for (const [path, headers] of asked) {
        const response = await get(path, headers, impatient);
        assert.equal(response.status, 503, path);
        assert.equal(response.headers.get('retry-after'), '1');
        const problem = (await response.json()) as { code: string; replayedSequence: string; minSequence: string };
        assert.equal(problem.code, 'replica_behind', path);
        assert.equal(problem.replayedSequence, replayed.toString(), path);
        assert.equal(problem.minSequence, id.toString(), path);
      }
      // An entry nobody wrote is not "behind": it is not there.
      assert.equal((await get(`/v1/ledger/entries/${id + 1000n}`, {}, impatient)).status, 404);
      assert.equal((await get('/v1/ledger/balances', { 'x-min-sequence': 'soon' }, impatient)).status, 400);
    } finally {
      await bed.resumeReplay();
    }
  });
});
