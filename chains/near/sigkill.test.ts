// NEAR sweeps under SIGKILL, as production runs them: the indexer (`coffer indexer run --chain
// near`) and the workers (`coffer start --workers`) are child processes; once the accounts'
// creation deposits are swept, each account gets 1 NEAR, and the workers are killed the moment
// a sweep's signed transfer is stored (`submitted`) and started again. Afterwards each
// deposit has one credit and one confirmed sweep, each account's key signed exactly one
// transaction per sweep (its nonce moved by that many), the treasury on chain gained exactly what the ledger
// says, every account kept its reserve, and the ledger verifies. The devnet (a block every
// 100 ms) runs in this process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { startNearDevnet, type NearDevnet } from '../../devnets/index.ts';
import { getBalances, verifyLedger } from '../../ledger/index.ts';
import { ChainSignaturesEmulator, importNearKey, Keystore } from '../../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { type CofferProcess, type CofferProcesses } from '../../testing/coffer-process.ts';
import { createSigkillBed, type SigkillBed } from '../../testing/sigkill-bed.ts';
import { eventually } from '../../testing/evm-world.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { accessKeyKind, nearRpc, sweepReserveYoctoDefault, viewAccessKey } from '../index.ts';

const treasuryId = 'treasury.devnet';
const depositYocto = nearToYocto('1');
/** The faucet's 0.1 NEAR that creates each account is a deposit too (a Transfer to the user's account); then 1 NEAR. */
const depositsPerAccount = 2;
// A NEAR deposit address is the user's own account: no root key is used.
const nearOnly = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: 'unused', ed25519: 'unused' } } as const;

let devnet: NearDevnet;
let provider: JsonRpcProvider;
let faucet: Account;
let db: TestDatabase;
let bed: SigkillBed;
let processes: CofferProcesses;

before(async () => {
  devnet = await startNearDevnet({ blocks: { intervalMs: 100 } });
  provider = new JsonRpcProvider({ url: devnet.rpcUrl });
  faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  await faucet.createAccount({ newAccountId: treasuryId, publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('1') });
  db = await createTestDatabase();
  bed = await createSigkillBed({ name: 'near-kill', db, passphrase: 'near-sigkill-passphrase' });
  // The workers open the emulator signer from this keystore (never asked for a NEAR sweep, which the account's own key signs).
  await ChainSignaturesEmulator.open(new Keystore({ directory: bed.keystoreDir, passphrase: bed.passphrase, kdf: { m: 256, t: 1, p: 1 } }));
  processes = bed.processes({
    NEAR_RPC_URL: devnet.rpcUrl,
    NEAR_TREASURY_ACCOUNT: treasuryId,
    NEAR_POLL_INTERVAL_MS: '100',
    CREDIT_ASSET_PRICING: 'NEAR=choco:5000',
  });
});

after(async () => {
  await bed?.cleanup();
  await devnet?.stop();
  await db?.drop();
});

const count = (query: string, params?: unknown[]) => bed.count(query, params);
const entries = (kind: string, users: string[]) => bed.entries(kind, users);
const ledgerNear = async (account: string) => (await getBalances(db.pool, { account, asset: 'NEAR' }))[0]?.balance ?? 0n;
const onChain = async (accountId: string) => BigInt((await provider.viewAccount({ accountId, blockQuery: { finality: 'final' } })).amount);

/** A user whose NEAR account (created by the faucet) is its deposit address, its full-access key in the keystore. */
async function nearUser(accountId: string): Promise<{ userId: string; accountId: string; publicKey: string }> {
  const key = KeyPair.fromRandom('ed25519');
  await faucet.createAccount({ newAccountId: accountId, publicKey: key.getPublicKey(), nearToTransfer: nearToYocto('0.1') });
  const user = await createUser(db.pool, { nearAccountId: accountId, isSweepEnabled: true });
  assert.equal((await getDepositAddress(db.pool, user.id, 'near', nearOnly)).address, accountId);
  // The key is checked at `final`, a couple of blocks after the account is created.
  await eventually(`${accountId} final`, async () => (await accessKeyKind(devnet.rpcUrl, accountId, key.getPublicKey().toString())) === 'full-access', 10_000);
  const keystore = new Keystore({ directory: bed.keystoreDir, passphrase: bed.passphrase, kdf: { m: 256, t: 1, p: 1 } });
  await importNearKey({ keystore, accountId, privateKey: key.toString(), accessKeyKind: (account, publicKey) => accessKeyKind(devnet.rpcUrl, account, publicKey) });
  return { userId: user.id, accountId, publicKey: key.getPublicKey().toString() };
}

describe('NEAR under SIGKILL', () => {
  test('the workers killed while a sweep is submitted: one credit and one landed sweep per deposit, ledger equal to the chain', async () => {
    const people = [await nearUser('una.devnet'), await nearUser('vic.devnet'), await nearUser('wes.devnet')];
    const ids = people.map((p) => p.userId);
    const rpc = nearRpc(devnet.rpcUrl);
    const nonces = new Map<string, bigint>();
    for (const person of people) nonces.set(person.accountId, BigInt((await viewAccessKey(rpc, person.accountId, person.publicKey)).nonce));
    const treasuryBefore = await onChain(treasuryId);

    const confirmedSweeps = () => count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'confirmed'", [ids]);

    const indexer = processes.start(['indexer', 'run', '--chain', 'near']);
    let workers: CofferProcess = processes.start(['start', '--workers']);
    const output = () => `indexer:\n${indexer.output().slice(-3_000)}\nworkers:\n${workers.output().slice(-5_000)}`;
    // A sweep moves the account's whole custody: the creation deposits are swept first, so each 1 NEAR deposit has a sweep of its own.
    await eventually('the creation deposits swept', async () => (await confirmedSweeps()) === people.length, 60_000, output);
    for (const person of people) await faucet.transfer({ receiverId: person.accountId, amount: depositYocto });
    await eventually('a sweep of the 1 NEAR deposits submitted', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'submitted'", [ids])) >= 1, 60_000, output, 10);
    await workers.stop('SIGKILL');
    const killedAt = await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'submitted'", [ids]);
    assert.ok(killedAt >= 1, 'killed with a signed transfer stored and not yet confirmed');
    workers = processes.start(['start', '--workers']);

    const deposits = people.length * depositsPerAccount;
    await eventually('every sweep confirmed', async () => (await confirmedSweeps()) === deposits, 90_000, output);
    assert.equal(await entries('deposit.pending', ids), deposits, 'one pending entry per deposit');
    assert.equal(await entries('credit.issued', ids), deposits, 'one credit per deposit');
    assert.equal(await entries('sweep.confirmed', ids), deposits, 'one confirmed sweep per deposit');
    assert.equal(await count('SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1)', [ids]), deposits, 'one sweep row per deposit');

    for (const person of people) {
      const nonce = BigInt((await viewAccessKey(rpc, person.accountId, person.publicKey)).nonce);
      assert.equal(nonce - nonces.get(person.accountId)!, BigInt(depositsPerAccount), `${person.accountId}'s key signed exactly one transaction per sweep`);
      // The reserve stays on the account, and in custody: the ledger holds what the chain holds.
      assert.equal(await onChain(person.accountId), sweepReserveYoctoDefault, `${person.accountId} kept exactly its reserve`);
      assert.equal(await ledgerNear(`custody:near:${person.accountId}`), sweepReserveYoctoDefault);
    }
    assert.equal((await onChain(treasuryId)) - treasuryBefore, await ledgerNear('treasury:near'), 'the treasury on chain gained what the ledger booked, once per deposit');
    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    await workers.stop('SIGTERM');
    await indexer.stop('SIGTERM');
  });
});
