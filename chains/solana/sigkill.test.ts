// Solana under SIGKILL, each part as its own `coffer` process the way production runs it: the
// indexer (`coffer indexer run --chain solana`) killed mid-run and restarted leaves exactly one
// pending entry, one confirmation and one credit request per deposit; the workers
// (`coffer start --workers`) killed while sweeps are in flight leave exactly one landed sweep per
// deposit. The fee payer's funding, which those sweeps spend, is booked from the chain first.
// The devnet (a slot every 50 ms, finalized 32 slots later) runs in this process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHermesReplay, startSolanaDevnet, type HermesReplay, type SolanaDevnet } from '../../devnets/index.ts';
import { silentLogger } from '../../infra/index.ts';
import { recordSolanaFeePayerFunding, solanaRpc } from '../../indexers/index.ts';
import { feePayerAccount, SolanaFundingError } from '../../indexers/solana/index.ts';
import { getBalances, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../../signer/index.ts';
import { createTestDatabase, solanaWallet, type SolanaWallet, type TestDatabase } from '../../testing/index.ts';
import { type CofferProcess, type CofferProcesses } from '../../testing/coffer-process.ts';
import { createSigkillBed, type SigkillBed } from '../../testing/sigkill-bed.ts';
import { eventually } from '../../testing/evm-world.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../../users/index.ts';
import { solanaAddressCodec } from './codec.ts';

const feePayerFunding = 5_000_000_000n;

let devnet: SolanaDevnet;
let db: TestDatabase;
let bed: SigkillBed;
let hermes: HermesReplay;
let wallet: SolanaWallet;
let derivation: DerivationSettings;
let indexer: CofferProcess;
let feePayer: string;
let funding: { signature: string; entryId: bigint };
let processes: CofferProcesses;

before(async () => {
  devnet = await startSolanaDevnet({ slotIntervalMs: 50 });
  db = await createTestDatabase();
  bed = await createSigkillBed({ name: 'solana-kill', db, passphrase: 'solana-sigkill-passphrase' });
  hermes = await startHermesReplay();
  wallet = await solanaWallet(devnet);
  const keystore = new Keystore({ directory: bed.keystoreDir, passphrase: bed.passphrase, kdf: { m: 256, t: 1, p: 1 } });
  const emulator = await ChainSignaturesEmulator.open(keystore);
  derivation = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } };
  feePayer = solanaAddressCodec.fromPublicKey((await keystore.create('solana-fee-payer', 'ed25519')).publicKey);
  const writer = new LedgerWriter({ pool: db.pool, logger: silentLogger });
  try {
    const signature = await wallet.sendSol(feePayer, feePayerFunding);
    const booked = await eventually('the fee payer funding finalized', () => recordSolanaFeePayerFunding({ writer, rpc: solanaRpc(devnet.rpcUrl), feePayer }, signature).catch(() => undefined), 30_000);
    funding = { signature, entryId: booked.entryId };
  } finally {
    await writer.close();
  }
  processes = bed.processes({
    HERMES_URL: hermes.url,
    SOLANA_RPC_URL: devnet.rpcUrl,
    SOLANA_TREASURY_ADDRESS: solanaAddressCodec.fromPublicKey(randomBytes(32)),
    SOLANA_POLL_INTERVAL_MS: '100',
  });
});

after(async () => {
  await bed?.cleanup();
  await hermes?.stop();
  await devnet?.stop();
  await db?.drop();
});

const count = (query: string, params?: unknown[]) => bed.count(query, params);
const entries = (kind: string, users: string[]) => bed.entries(kind, users);
/** Confirmations name their deposit by its key, not its user. */
const confirmations = (users: string[]) =>
  count("SELECT count(*) AS n FROM journal_entries c JOIN journal_entries p ON p.idempotency_key = c.metadata->>'depositKey' WHERE c.kind = 'deposit.confirmed' AND p.metadata->>'userId' = ANY($1)", [users]);

async function depositors(names: string[], isSweepEnabled: boolean): Promise<{ userId: string; address: string }[]> {
  return Promise.all(
    names.map(async (name) => {
      const user = await createUser(db.pool, { nearAccountId: `${name}.testnet`, isSweepEnabled });
      return { userId: user.id, address: (await getDepositAddress(db.pool, user.id, 'solana', derivation)).address };
    }),
  );
}

describe('Solana under SIGKILL', () => {
  test('the fee payer funding is booked from the chain once; a transaction that does not fund it is refused', async () => {
    const writer = new LedgerWriter({ pool: db.pool, logger: silentLogger });
    try {
      const ctx = { writer, rpc: solanaRpc(devnet.rpcUrl), feePayer };
      assert.deepEqual(await recordSolanaFeePayerFunding(ctx, funding.signature), { lamports: feePayerFunding, entryId: funding.entryId });
      const other = await wallet.sendSol(solanaAddressCodec.fromPublicKey(randomBytes(32)), 1_000_000n);
      await eventually('the other transfer finalized', async () => (await ctx.rpc<unknown>('getTransaction', [other, { commitment: 'finalized', maxSupportedTransactionVersion: 0 }])) ?? undefined, 30_000);
      await assert.rejects(recordSolanaFeePayerFunding(ctx, other), SolanaFundingError);
    } finally {
      await writer.close();
    }
    assert.equal((await getBalances(db.pool, { account: feePayerAccount, asset: 'SOL' }))[0]!.balance, feePayerFunding);
  });

  test('the indexer process killed mid-run and restarted: one pending, one confirmation, one credit request per deposit', async () => {
    indexer = processes.start(['indexer', 'run', '--chain', 'solana']);
    await eventually('the solana cursor', async () => (await count("SELECT count(*) AS n FROM indexer_cursors WHERE indexer = 'solana'")) === 1, 30_000, indexer.output);
    const people = await depositors(['kai', 'lea', 'max'], false);
    const ids = people.map((p) => p.userId);
    let sent = 0;
    for (const threshold of [1, 6, 12]) {
      // Deposits keep landing, a few slots apart, while the indexer runs; it dies once it wrote `threshold`.
      for (let i = 0; i < 6; i += 1, sent += 1) {
        await wallet.sendSol(people[sent % people.length]!.address, BigInt(100_000_000 + sent));
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      await eventually(`${threshold} deposits written`, async () => (await entries('deposit.pending', ids)) >= threshold, 60_000, indexer.output, 20);
      await indexer.stop('SIGKILL');
      indexer = processes.start(['indexer', 'run', '--chain', 'solana']);
    }
    await eventually('every deposit confirmed', async () => (await confirmations(ids)) === sent, 60_000, indexer.output);
    assert.equal(await confirmations(ids), sent, 'one confirmation per deposit');
    assert.equal(await entries('deposit.pending', ids), sent, 'one pending entry per deposit');
    const credits = await count(
      "SELECT count(*) AS n FROM outbox o JOIN journal_entries c ON c.id = (o.payload->>'confirmationEntryId')::bigint JOIN journal_entries p ON p.idempotency_key = c.metadata->>'depositKey' WHERE o.name = 'credit-deposit' AND p.metadata->>'userId' = ANY($1)",
      [ids],
    );
    assert.equal(credits, sent, 'one credit request per deposit');
    assert.equal((await verifyLedger(db.pool)).ok, true);
  });

  test('the workers killed while sweeps are in flight: one credit and one landed sweep per deposit', async () => {
    const people = await depositors(['ned', 'ora', 'pia'], true);
    const ids = people.map((p) => p.userId);
    let workers = processes.start(['start', '--workers']);
    for (const person of people) await wallet.sendSol(person.address, 1_000_000_000n);
    await eventually('a sweep in flight', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'submitted'", [ids])) >= 1, 60_000, workers.output, 20);
    await workers.stop('SIGKILL');
    workers = processes.start(['start', '--workers']);

    const output = () => `indexer:\n${indexer.output().slice(-3_000)}\nworkers:\n${workers.output().slice(-5_000)}`;
    await eventually('every sweep confirmed', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'confirmed'", [ids])) === people.length, 90_000, output);
    assert.equal(await entries('credit.issued', ids), people.length, 'one credit per deposit');
    assert.equal(await entries('sweep.confirmed', ids), people.length, 'one confirmed sweep per deposit');
    const rpc = solanaRpc(devnet.rpcUrl);
    for (const person of people) {
      const history = await rpc<{ signature: string }[]>('getSignaturesForAddress', [person.address, { commitment: 'confirmed' }]);
      assert.equal(history.length, 2, `the deposit and exactly one sweep landed for ${person.address}`);
      assert.equal((await rpc<{ value: number }>('getBalance', [person.address, { commitment: 'confirmed' }])).value, 0);
      const custody = await getBalances(db.pool, { account: `custody:solana:${person.address}`, asset: 'SOL' });
      assert.equal(custody[0]?.balance ?? 0n, 0n);
    }
    await eventually('the earlier deposits credited too', async () => (await count("SELECT count(*) AS n FROM outbox WHERE completed_at IS NULL AND name = 'credit-deposit'")) === 0, 60_000, output);
    assert.equal((await verifyLedger(db.pool)).ok, true);
    await workers.stop('SIGTERM');
  });
});
