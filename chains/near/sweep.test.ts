// NEAR keys and NEAR sweeps end to end on the devnet: a user's full-access key is imported (a
// function-call key and another account's key are refused), a NEAR deposit is booked as the
// indexer books it, and the sweep job moves it to the treasury leaving the reserve; a crash
// between storing the signed transfer and broadcasting it still lands exactly one transfer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, actions, nearToYocto } from 'near-api-js';
import { startNearDevnet, type NearDevnet } from '../../devnets/index.ts';
import { silentLogger } from '../../infra/index.ts';
import { depositEntryKinds, getBalances, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner, importNearKey, Keystore, keystoreSigner, storedNearPublicKey } from '../../signer/index.ts';
import { sweepDeposit, type SweepContext } from '../../sweeps/sweeps.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { accessKeyKind, nearAdapter, outcomeFeeYocto, type FinalOutcomeView } from '../index.ts';
import type { ChainAdapter } from '../types.ts';

const reserveYocto = nearToYocto('0.01');
const treasuryId = 'treasury.devnet';
const kdf = { m: 256, t: 1, p: 1 };
// A NEAR deposit address is the user's own account: no root key is used.
const nearOnly = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: 'unused', ed25519: 'unused' } } as const;

let devnet: NearDevnet;
let provider: JsonRpcProvider;
let faucet: Account;
let db: TestDatabase;
let writer: LedgerWriter;
let keystore: Keystore;
let directory: string;

before(async () => {
  devnet = await startNearDevnet({ blocks: 'on-demand' });
  provider = new JsonRpcProvider({ url: devnet.rpcUrl });
  faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  await faucet.createAccount({ newAccountId: treasuryId, publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('1') });
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  directory = await mkdtemp(join(tmpdir(), 'coffer-near-keys-'));
  keystore = new Keystore({ directory, passphrase: 'near sweep test passphrase', kdf });
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await devnet?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const balanceOf = async (account: string) => (await getBalances(db.pool, { account, asset: 'NEAR' }))[0]?.balance ?? 0n;
const onChain = async (accountId: string) => BigInt((await provider.viewAccount({ accountId, blockQuery: { finality: 'final' } })).amount);
const check = (accountId: string, publicKey: string) => accessKeyKind(devnet.rpcUrl, accountId, publicKey);

/** A NEAR account of the faucet's, with a full-access key coffer will be given and a function-call key it must refuse. */
async function newAccount(accountId: string, nearAmount: `${number}`) {
  const full = KeyPair.fromRandom('ed25519');
  const functionCall = KeyPair.fromRandom('ed25519');
  await faucet.createAccount({ newAccountId: accountId, publicKey: full.getPublicKey(), nearToTransfer: nearToYocto(nearAmount) });
  const own = new Account(accountId, provider, full.toString());
  await own.signAndSendTransaction({ receiverId: accountId, actions: [actions.addFunctionCallAccessKey(functionCall.getPublicKey(), devnet.signerContract, ['sign'], nearToYocto('0.25'))], waitUntil: 'FINAL' });
  return { full: full.toString(), functionCall: functionCall.toString() };
}

/** Sends NEAR to the account on chain and books it as the indexer does: pending, then confirmed into custody. */
async function deposit(userId: string, accountId: string, yocto: bigint): Promise<bigint> {
  const outcome = (await faucet.transfer({ receiverId: accountId, amount: yocto })) as unknown as { transaction_outcome: { id: string; block_hash: string }; receipts_outcome: { id: string }[] };
  const receiptId = outcome.receipts_outcome[0]!.id;
  const keyBase = `near:${receiptId}`;
  const depositKey = `${keyBase}:deposit@${outcome.transaction_outcome.block_hash}`;
  const [pending] = await writer.transaction((t) =>
    t.append([
      {
        kind: depositEntryKinds.pending,
        idempotencyKey: depositKey,
        sourceRef: outcome.transaction_outcome.id,
        metadata: { chain: 'near', userId, address: accountId },
        postings: [{ source: 'world:near', destination: `deposits:near:${accountId}:pending`, asset: 'NEAR', amount: yocto }],
      },
      {
        kind: depositEntryKinds.confirmed,
        idempotencyKey: `${keyBase}:confirm@${outcome.transaction_outcome.block_hash}`,
        metadata: { depositKey },
        postings: [{ source: `deposits:near:${accountId}:pending`, destination: `custody:near:${accountId}`, asset: 'NEAR', amount: yocto }],
      },
    ]),
  );
  assert.equal(pending?.status, 'created');
  return pending.status === 'created' ? pending.entry.id : 0n;
}

function sweepContext(adapter: ChainAdapter): SweepContext {
  return {
    pool: db.pool,
    writer,
    // NEAR sweeps are signed by the account's own key; the derived-key signer is never asked.
    signer: new EmulatorSigner(new ChainSignaturesEmulator({ secp256k1: 1n, ed25519: 1n })),
    operational: keystoreSigner(keystore),
    chains: new Map([['near', { adapter, rpcUrl: devnet.rpcUrl, treasury: treasuryId, confirmations: 1, trackTimeoutMs: 20_000, pollIntervalMs: 50 }]]),
    logger: silentLogger,
  };
}

const adapter = () => nearAdapter({ keyOf: (accountId) => storedNearPublicKey(directory, accountId), reserveYocto });

describe('NEAR keys', () => {
  test('a full-access key is imported, encrypted; a function-call key and another account\'s key are refused; the secret is nowhere', async () => {
    const keys = await newAccount('keys.devnet', '2');
    await assert.rejects(importNearKey({ keystore, accountId: 'keys.devnet', privateKey: keys.functionCall, accessKeyKind: check }), /only a function-call key of keys\.devnet/);
    await assert.rejects(importNearKey({ keystore, accountId: 'treasury.devnet', privateKey: keys.full, accessKeyKind: check }), /is not an access key of treasury\.devnet/);
    await assert.rejects(importNearKey({ keystore, accountId: 'keys.devnet', privateKey: 'ed25519:not-base58-0OIl', accessKeyKind: check }), (error: Error) => !error.message.includes('0OIl'));
    const imported = await importNearKey({ keystore, accountId: 'keys.devnet', privateKey: keys.full, accessKeyKind: check });
    assert.equal(imported.status, 'imported');
    assert.equal(imported.publicKey, KeyPair.fromString(keys.full as `ed25519:${string}`).getPublicKey().toString());
    assert.equal((await importNearKey({ keystore, accountId: 'keys.devnet', privateKey: keys.full, accessKeyKind: check })).status, 'already_imported');
    const other = KeyPair.fromRandom('ed25519').toString();
    await assert.rejects(importNearKey({ keystore, accountId: 'keys.devnet', privateKey: other, accessKeyKind: check }), /is not an access key|already holds another key/);
    const secretPart = keys.full.slice('ed25519:'.length);
    for (const file of await readdir(directory)) assert.ok(!(await readFile(join(directory, file), 'utf8')).includes(secretPart), `${file} holds the key in clear`);
  });
});

describe('NEAR sweeps', () => {
  test('custody is swept to the treasury leaving the reserve; a crash between store and broadcast lands one transfer; ledger equals chain', async () => {
    const accountId = 'alice.devnet';
    const keys = await newAccount(accountId, '0.5');
    const user = await createUser(db.pool, { nearAccountId: accountId });
    const address = await getDepositAddress(db.pool, user.id, 'near', nearOnly);
    assert.equal(address.address, accountId);

    // Without the account's key the sweep fails closed and the deposit stays in custody.
    const first = await deposit(user.id, accountId, nearToYocto('1'));
    await assert.rejects(sweepDeposit(sweepContext(adapter()), first), /no key for alice\.devnet in the keystore/);
    assert.equal(await balanceOf(`custody:near:${accountId}`), nearToYocto('1'));

    await importNearKey({ keystore, accountId, privateKey: keys.full, accessKeyKind: check });
    const treasuryBefore = await onChain(treasuryId);
    const accountBefore = await onChain(accountId);
    // The first attempt stores the signed transfer and dies before it reaches the chain.
    const real = adapter();
    const crashing: ChainAdapter = {
      ...real,
      connect: (settings) => ({ ...real.connect(settings), broadcast: () => Promise.reject(new Error('worker killed before the broadcast')) }),
    };
    await assert.rejects(sweepDeposit(sweepContext(crashing), first), /worker killed/);
    const { rows: stored } = await db.pool.query<{ status: string; tx_hash: string }>('SELECT status, tx_hash FROM sweeps WHERE deposit_entry_id = $1', [first.toString()]);
    assert.equal(stored[0]?.status, 'submitted');
    assert.equal(await onChain(treasuryId), treasuryBefore, 'nothing reached the chain');

    const swept = await sweepDeposit(sweepContext(adapter()), first);
    assert.equal(swept.status, 'confirmed');
    if (swept.status !== 'confirmed') return;
    assert.equal(swept.txHash, stored[0].tx_hash, 'the retry broadcast the stored transaction, not a new one');
    assert.equal(await sweepDeposit(sweepContext(adapter()), first).then((again) => again.status), 'confirmed', 'a third run changes nothing');

    const outcome = (await provider.viewTransactionStatus({ txHash: swept.txHash, accountId, waitUntil: 'FINAL' })) as unknown as FinalOutcomeView;
    const fee = outcomeFeeYocto(outcome);
    assert.equal(swept.fee, fee);
    assert.equal(swept.amount, nearToYocto('1') - fee, 'all of custody moved, the fee paid out of it');
    assert.equal((await onChain(treasuryId)) - treasuryBefore, swept.amount, 'one transfer reached the treasury');
    assert.equal(accountBefore - (await onChain(accountId)), swept.amount + fee);
    assert.equal(await balanceOf(`treasury:near`), swept.amount);
    assert.equal(await balanceOf('fees:near'), fee);
    assert.equal(await balanceOf(`custody:near:${accountId}`), 0n);
    assert.equal(await balanceOf(`custody:near:${accountId}:sweeping`), 0n);

    // A deposit larger than what the account can send above the reserve: the sweep stops at the reserve.
    const big = await deposit(user.id, accountId, nearToYocto('3'));
    const beforeBig = await onChain(accountId);
    const second = await sweepDeposit(sweepContext(adapter()), big);
    assert.equal(second.status, 'confirmed');
    if (second.status !== 'confirmed') return;
    assert.equal(await onChain(accountId), beforeBig - second.amount - second.fee);
    assert.ok(second.amount === nearToYocto('3') - second.fee, 'the account held enough besides the reserve');
    assert.ok((await onChain(accountId)) >= reserveYocto, 'the reserve stays on the account');

    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  });

  test('the balance never goes below the reserve: the amount is min(custody − fee, balance − reserve − fee)', async () => {
    const accountId = 'bob.devnet';
    const keys = await newAccount(accountId, '0.005');
    const user = await createUser(db.pool, { nearAccountId: accountId });
    await getDepositAddress(db.pool, user.id, 'near', nearOnly);
    await importNearKey({ keystore, accountId, privateKey: keys.full, accessKeyKind: check });
    const entry = await deposit(user.id, accountId, nearToYocto('0.02'));
    const swept = await sweepDeposit(sweepContext(adapter()), entry);
    assert.equal(swept.status, 'confirmed');
    if (swept.status !== 'confirmed') return;
    assert.equal(await onChain(accountId), reserveYocto, 'exactly the reserve is left');
    assert.ok(swept.amount < nearToYocto('0.02') - swept.fee, 'part of the deposit covered the reserve');
    assert.equal(await balanceOf(`custody:near:${accountId}`), nearToYocto('0.02') - swept.amount - swept.fee, 'what stays on the account stays in custody');
  });
});
