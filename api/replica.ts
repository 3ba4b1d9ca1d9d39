// Where a read-only ledger route reads: the read replica (DATABASE_READ_URL) when there is one,
// the primary otherwise. A replica trails the primary by however much WAL it has still to
// replay, so a read may name the journal sequence it must include — `minSequence` (query) or
// `X-Min-Sequence` (header), typically the id a write answered with, and implicitly a cursor
// (`after`) or an `asOfSequence`. The read waits up to `replicaWaitMs` for the replica to replay
// that far, then answers 503 `replica_behind` with the sequence it has: never an older state
// passed off as the one asked for. Every answer says in `X-Journal-Sequence` which sequence it
// includes at least.
//
// "Replayed up to N" is the replica's highest journal id: one writer at a time appends (the
// writer lock, ledger/append-sql.ts), so journal ids commit in order and the highest one seen
// means every lower one is there too.
import type { Context } from 'hono';
import { journalHead } from '../ledger/index.ts';
import type { Pool } from '../infra/index.ts';
import type { ApiDependencies, AppEnv } from './context.ts';
import { ApiError } from './problem.ts';

/** How long a read waits for the replica before answering replica_behind (the client retries). */
export const replicaWaitMsDefault = 2_000;
const replicaPollMs = 25;
export const minSequenceHeader = 'X-Min-Sequence';
export const journalSequenceHeader = 'X-Journal-Sequence';
const sequenceText = /^[0-9]{1,19}$/;

/**
 * The database to read from, having replayed at least every sequence in `minimums` (undefined
 * entries are ignored) and the X-Min-Sequence header's. Sets X-Journal-Sequence on the answer.
 */
export async function ledgerReader(c: Context<AppEnv>, deps: ApiDependencies, minimums: readonly (bigint | undefined)[] = []): Promise<Pool> {
  const header = c.req.header(minSequenceHeader);
  if (header !== undefined && !sequenceText.test(header)) throw new ApiError(400, 'invalid_request', `${minSequenceHeader} must be a journal sequence number`);
  const wanted = [...minimums, header === undefined ? undefined : BigInt(header)].reduce<bigint>((most, value) => (value !== undefined && value > most ? value : most), 0n);
  const db = deps.readPool ?? deps.pool;
  const deadline = Date.now() + (deps.replicaWaitMs ?? replicaWaitMsDefault);
  for (;;) {
    const replayed = await journalHead(db);
    if (replayed >= wanted || db === deps.pool) {
      c.header(journalSequenceHeader, replayed.toString());
      return db;
    }
    if (Date.now() >= deadline) {
      c.header('Retry-After', '1');
      c.header(journalSequenceHeader, replayed.toString());
      throw new ApiError(503, 'replica_behind', `the read replica has replayed the journal up to sequence ${replayed}, not yet ${wanted}; retry shortly`, {
        replayedSequence: replayed.toString(),
        minSequence: wanted.toString(),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, replicaPollMs));
  }
}
