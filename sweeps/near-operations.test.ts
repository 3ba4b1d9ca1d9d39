// coffer's NEAR hot account at work on the devnet: a predecessor below its threshold is refilled
// and the refill booked (ledger = chain), a `sign` call's gas is booked against that refill, the
// indexer does not take coffer's own transfer for a deposit, and a user's NEAR account is
// registered on the devnet token exactly once when its deposit address is first handed out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { ftStorageDepositYocto, startNearDevnet, type NearDevnet } from '../devnets/near/index.ts';
import { loadConfig, silentLogger } from '../infra/index.ts';
import { chart, getBalances, LedgerWriter, relayEntryKinds, verifyLedger } from '../ledger/index.ts';
import { ChainSignaturesSigner, importNearKey, Keystore, keystoreSigner, nearKeyName, storedNearPublicKey } from '../signer/index.ts';
import { accessKeyKind, mpcRootKeys, nearKeystoreSignCall } from '../chains/index.ts';
import { nearRpc as indexerRpc } from '../indexers/near/rpc.ts';
import { NearBlockSource } from '../indexers/near/source.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser, getDepositAddress } from '../users/index.ts';
import { ensureNearSigningTarget, nearRefillPass, nearSignCostBooks, nearSigningAccount, nearSigningFunding, nearStorageAccount, registerNearTokenStorage, type NearOperationsContext } from './near-operations.ts';

const hotId = 'coffer.devnet';
/** From configuration, not the defaults (0.1 NEAR): a refill tops up to exactly 0.12 NEAR. */
const signingFunding = nearSigningFunding(loadConfig({ NEAR_SIGNING_FUND_TO_YOCTO: '120000000000000000000000' }));
const nearSigningFundToYocto = signingFunding.fundTo;
const nearOnly = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: 'unused', ed25519: 'unused' } } as const;

let devnet: NearDevnet;
let provider: JsonRpcProvider;
let faucet: Account;
let db: TestDatabase;
let writer: LedgerWriter;
let keystore: Keystore;
let directory: string;
let ctx: NearOperationsContext;

before(async () => {
  devnet = await startNearDevnet({ blocks: 'on-demand' });
  provider = new JsonRpcProvider({ url: devnet.rpcUrl });
  faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  directory = await mkdtemp(join(tmpdir(), 'coffer-near-operations-'));
  keystore = new Keystore({ directory, passphrase: 'near operations test passphrase', kdf: { m: 256, t: 1, p: 1 } });
  // coffer's hot account: created with 5 NEAR, its key imported, the funding booked as an operator records it.
  const hotKey = KeyPair.fromRandom('ed25519');
  const created = (await faucet.createAccount({ newAccountId: hotId, publicKey: hotKey.getPublicKey(), nearToTransfer: nearToYocto('5') })) as unknown as { transaction_outcome: { id: string } };
  await importNearKey({ keystore, accountId: hotId, privateKey: hotKey.toString(), accessKeyKind: (a, p) => accessKeyKind(devnet.rpcUrl, a, p) });
  const funded = await writer.append({
    kind: relayEntryKinds.treasuryFunded,
    idempotencyKey: `near:${created.transaction_outcome.id}:treasury.funded`,
    metadata: { hash: created.transaction_outcome.id, from: devnet.faucet.accountId, blockNumber: '0' },
    postings: [{ source: chart.world('near'), destination: chart.treasuryHot('near'), asset: 'NEAR', amount: nearToYocto('5') }],
  });
  assert.equal(funded.status, 'created');
  ctx = {
    pool: db.pool,
    writer,
    logger: silentLogger,
    rpcUrl: devnet.rpcUrl,
    hotAccount: hotId,
    signingFunding,
    publicKeyOf: (accountId) => storedNearPublicKey(directory, accountId),
    sign: keystoreSigner(keystore),
    tokens: [devnet.tokens.USDC],
    confirmTimeoutMs: 20_000,
  };
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await devnet?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const ledger = async (account: string) => (await getBalances(db.pool, { account, asset: 'NEAR' }))[0]?.balance ?? 0n;
const onChain = async (accountId: string) => BigInt((await provider.viewAccount({ accountId, blockQuery: { finality: 'final' } })).amount);
const finalHeight = async () => (await provider.viewBlock({ finality: 'final' })).header.height;

describe('coffer\'s NEAR hot account', () => {
  const predecessor = 'alice.devnet';
  const ownYocto = nearToYocto('0.02');
  const aliceKey = KeyPair.fromRandom('ed25519');

  test('a predecessor below its threshold is refilled to fund_to from the hot account, booked, once; ledger = chain', async () => {
    await faucet.createAccount({ newAccountId: predecessor, publicKey: aliceKey.getPublicKey(), nearToTransfer: ownYocto });
    await ensureNearSigningTarget(db.pool, predecessor, signingFunding);
    const first = await nearRefillPass(ctx);
    assert.deepEqual(first?.targets.map((t) => [t.accountId, t.action, t.amount]), [[predecessor, 'refilled', (nearSigningFundToYocto - ownYocto).toString()]]);
    assert.equal(await onChain(predecessor), nearSigningFundToYocto);
    assert.equal(await ledger(nearSigningAccount(predecessor)), nearSigningFundToYocto - ownYocto, 'what coffer put there is coffer\'s, not custody');
    assert.equal(await ledger(chart.treasuryHot('near')), await onChain(hotId), 'the hot account: ledger = chain (amount and gas booked)');
    const again = await nearRefillPass(ctx);
    assert.equal(again?.targets[0]?.action, 'ok');
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM refills WHERE status = 'confirmed'`);
    assert.equal(rows[0]!.n, '1');
  });

  test('a sign call\'s gas and deposit are booked out of the refill: the account keeps exactly its own NEAR beyond coffer\'s', async () => {
    await importNearKey({ keystore, accountId: predecessor, privateKey: aliceKey.toString(), accessKeyKind: (a, p) => accessKeyKind(devnet.rpcUrl, a, p) });
    const signer = new ChainSignaturesSigner({
      contractId: devnet.signerContract,
      roots: await mpcRootKeys(devnet.rpcUrl, devnet.signerContract),
      call: nearKeystoreSignCall({ rpcUrl: devnet.rpcUrl, publicKeyOf: ctx.publicKeyOf, keyName: nearKeyName, sign: ctx.sign, onCost: nearSignCostBooks({ pool: db.pool, writer, logger: silentLogger, signingFunding }) }),
    });
    await signer.sign({ predecessor, path: 'ethereum-1', curve: 'secp256k1' }, new Uint8Array(32).fill(7));
    const signing = await ledger(nearSigningAccount(predecessor));
    assert.ok(signing < nearSigningFundToYocto - ownYocto, 'the sign call was booked');
    assert.equal((await onChain(predecessor)) - signing, ownYocto, 'chain − coffer\'s signing money = the account\'s own NEAR');
  });

  test('the indexer does not take a transfer signed by coffer\'s hot account for a deposit; a faucet transfer is one', async () => {
    const refillFrom = 0;
    await faucet.transfer({ receiverId: predecessor, amount: nearToYocto('0.5') });
    const source = new NearBlockSource({ rpc: indexerRpc(devnet.rpcUrl), tokens: new Map(), watched: (ids) => Promise.resolve(new Set(ids.filter((id) => id === predecessor))), ownSigners: new Set([hotId]) });
    const blocks = await source.blocks(refillFrom, await finalHeight());
    const transfers = blocks.flatMap((b) => b.transfers);
    // The faucet's transfers (the account's creation with 0.02 NEAR, then 0.5 NEAR), not coffer's refill.
    assert.deepEqual(transfers.map((t) => [t.to, t.amount]), [[predecessor, ownYocto], [predecessor, nearToYocto('0.5')]]);
    const unfiltered = new NearBlockSource({ rpc: indexerRpc(devnet.rpcUrl), tokens: new Map(), watched: (ids) => Promise.resolve(new Set(ids.filter((id) => id === predecessor))) });
    const all = (await unfiltered.blocks(refillFrom, await finalHeight())).flatMap((b) => b.transfers);
    assert.ok(all.some((t) => t.amount === nearSigningFundToYocto - ownYocto), 'the refill is on chain; only coffer\'s signer filter leaves it out');
  });

  test('a user\'s first NEAR address enqueues one storage job; it registers the account on the token once and books it', async () => {
    const user = await createUser(db.pool, { nearAccountId: 'bob.devnet' });
    await faucet.createAccount({ newAccountId: 'bob.devnet', publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('0.1') });
    await getDepositAddress(db.pool, user.id, 'near', nearOnly);
    await getDepositAddress(db.pool, user.id, 'near', nearOnly);
    const { rows: jobs } = await db.pool.query<{ payload: { accountId: string } }>(`SELECT payload FROM outbox WHERE queue = 'refills' AND name = 'near-token-storage'`);
    assert.deepEqual(jobs.map((j) => j.payload.accountId), ['bob.devnet']);

    const storageOf = () => provider.callFunction({ contractId: devnet.tokens.USDC, method: 'storage_balance_of', args: { account_id: 'bob.devnet' } });
    assert.equal(await storageOf(), null);
    assert.deepEqual(await registerNearTokenStorage(ctx, 'bob.devnet'), [{ contract: devnet.tokens.USDC, action: 'registered' }]);
    // The job delivered again (a retry, a worker that died after the work): nothing more is sent or booked.
    assert.deepEqual(await registerNearTokenStorage(ctx, 'bob.devnet'), [{ contract: devnet.tokens.USDC, action: 'already_registered' }]);
    assert.notEqual(await storageOf(), null);
    assert.equal(await ledger(nearStorageAccount('bob.devnet')), ftStorageDepositYocto);
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM journal_entries WHERE kind = 'storage.deposited'`);
    assert.equal(rows[0]!.n, '1');
    assert.equal(await ledger(chart.treasuryHot('near')), await onChain(hotId), 'the hot account: ledger = chain');
    assert.equal((await verifyLedger(db.pool)).ok, true);
  });

  test('a registration that dies after send_tx, before its booking, is finished by the next attempt: one storage.deposited, equal to the chain', async () => {
    const accountId = 'carol.devnet';
    await faucet.createAccount({ newAccountId: accountId, publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('0.1') });
    const hotBefore = await onChain(hotId);
    // A test double standing in for a process killed between send_tx and the ledger append: the
    // transaction is sent and lands, and nothing after the send runs.
    const dies = () => Promise.reject(new Error('the process died before booking'));
    const diesBeforeBooking = { transaction: dies, append: dies } as unknown as LedgerWriter;
    await assert.rejects(registerNearTokenStorage({ ...ctx, writer: diesBeforeBooking }, accountId), /died before booking/);
    const registered = (await provider.callFunction({ contractId: devnet.tokens.USDC, method: 'storage_balance_of', args: { account_id: accountId } })) as { total: string } | null;
    assert.ok(registered, 'the storage_deposit landed on chain');
    const entriesOf = async () =>
      (
        await db.pool.query<{ postings: { destination: string; amount: string }[] }>(
          `SELECT json_agg(json_build_object('destination', a.path, 'amount', p.amount::text) ORDER BY p.posting_index) AS postings
             FROM journal_entries e JOIN postings p ON p.entry_id = e.id JOIN accounts a ON a.id = p.destination_account_id
            WHERE e.kind = 'storage.deposited' AND e.metadata->>'accountId' = $1 GROUP BY e.id`,
          [accountId],
        )
      ).rows;
    assert.deepEqual(await entriesOf(), [], 'nothing booked before the retry');

    // The job delivered again: the stored transaction is finished and booked, not read as "already registered".
    assert.deepEqual(await registerNearTokenStorage(ctx, accountId), [{ contract: devnet.tokens.USDC, action: 'registered' }]);
    assert.deepEqual(await registerNearTokenStorage(ctx, accountId), [{ contract: devnet.tokens.USDC, action: 'already_registered' }]);
    const booked = await entriesOf();
    assert.equal(booked.length, 1, 'exactly one storage.deposited');
    const paid = hotBefore - (await onChain(hotId));
    const deposit = BigInt(registered.total);
    assert.deepEqual(booked[0]!.postings, [
      { destination: nearStorageAccount(accountId), amount: deposit.toString() },
      { destination: chart.fees('near'), amount: (paid - deposit).toString() },
    ], 'the deposit the token holds and the gas the hot account paid');
    assert.equal(await ledger(nearStorageAccount(accountId)), deposit);
    assert.equal(await ledger(chart.treasuryHot('near')), await onChain(hotId), 'the hot account: ledger = chain');
    assert.equal((await verifyLedger(db.pool)).ok, true);
  });
});
