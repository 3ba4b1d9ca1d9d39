// `coffer treasury record-funding --chain solana|near`, run as the operator runs it: money sent to
// the Solana fee payer and to coffer's NEAR hot account is booked from the chain, once however
// often it is recorded, and a transaction that does not fund the account is refused with a
// one-line reason (exit 2, as every usage error). The devnets run in this process; the command
// is a child process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { solanaAddressCodec } from '../chains/index.ts';
import { startNearDevnet, startSolanaDevnet, type NearDevnet, type SolanaDevnet } from '../devnets/index.ts';
import { solanaRpc } from '../indexers/index.ts';
import { getBalances } from '../ledger/index.ts';
import { Keystore } from '../signer/index.ts';
import { createTestDatabase, solanaWallet, type SolanaWallet, type TestDatabase } from '../testing/index.ts';
import { cofferProcesses, type CofferProcesses } from '../testing/coffer-process.ts';
import { eventually } from '../testing/evm-world.ts';

const passphrase = 'record-funding-test-passphrase';
const hotAccount = 'coffer.devnet';

let solana: SolanaDevnet;
let near: NearDevnet;
let wallet: SolanaWallet;
let faucet: Account;
let db: TestDatabase;
let keystoreDir: string;
let feePayer: string;
let coffer: CofferProcesses;

before(async () => {
  [solana, near, db] = await Promise.all([startSolanaDevnet({ slotIntervalMs: 20 }), startNearDevnet({ blocks: { intervalMs: 100 } }), createTestDatabase()]);
  wallet = await solanaWallet(solana);
  faucet = new Account(near.faucet.accountId, new JsonRpcProvider({ url: near.rpcUrl }), near.faucet.privateKey);
  keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-record-funding-'));
  const keystore = new Keystore({ directory: keystoreDir, passphrase, kdf: { m: 256, t: 1, p: 1 } });
  feePayer = solanaAddressCodec.fromPublicKey((await keystore.create('solana-fee-payer', 'ed25519')).publicKey);
  coffer = cofferProcesses({
    ...process.env,
    DATABASE_URL: db.url,
    SOLANA_RPC_URL: solana.rpcUrl,
    NEAR_RPC_URL: near.rpcUrl,
    COFFER_NEAR_ACCOUNT: hotAccount,
    COFFER_KEYSTORE_DIR: keystoreDir,
    COFFER_KEYSTORE_PASSPHRASE: passphrase,
    LOG_LEVEL: 'warn',
  });
});

after(async () => {
  await coffer?.killAll();
  await solana?.stop();
  await near?.stop();
  await db?.drop();
  if (keystoreDir) await rm(keystoreDir, { recursive: true, force: true });
});

const ledger = async (account: string, asset: string) => (await getBalances(db.pool, { account, asset }))[0]?.balance ?? 0n;
const recordFunding = async (args: string[]) => {
  const run = await coffer.run(['treasury', 'record-funding', ...args, '--json']);
  return { ...run, answer: run.code === 0 ? (JSON.parse(run.stdout) as Record<string, string | number>) : null };
};

describe('coffer treasury record-funding', () => {
  test('--chain solana books SOL sent to the fee payer once; a transfer elsewhere is refused', async () => {
    const rpc = solanaRpc(solana.rpcUrl);
    const finalized = (signature: string) => eventually(`${signature} finalized`, async () => (await rpc<unknown>('getTransaction', [signature, { commitment: 'finalized', maxSupportedTransactionVersion: 0 }])) ?? undefined, 30_000);
    const funding = await wallet.sendSol(feePayer, 2_000_000_000n);
    const elsewhere = await wallet.sendSol(solanaAddressCodec.fromPublicKey(randomBytes(32)), 1_000_000n);
    await finalized(funding);
    await finalized(elsewhere);

    const first = await recordFunding(['--chain', 'solana', '--tx', funding]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.answer?.feePayer, feePayer);
    assert.equal(BigInt(first.answer.lamports!), 2_000_000_000n);
    const again = await recordFunding(['--chain', 'solana', '--tx', funding]);
    assert.equal(again.answer?.entryId, first.answer?.entryId, 'the same transaction is the same entry');
    assert.equal(await ledger('operations:solana:fee-payer', 'SOL'), 2_000_000_000n);

    const refused = await recordFunding(['--chain', 'solana', '--tx', elsewhere]);
    assert.equal(refused.code, 2, 'refused as a usage error');
    assert.match(refused.stderr, /does not send SOL to the fee payer/);
    assert.equal(await ledger('operations:solana:fee-payer', 'SOL'), 2_000_000_000n);
  });

  test('--chain near books NEAR sent to the hot account (its creation too) once; a transfer elsewhere is refused', async () => {
    type Sent = { transaction_outcome: { id: string } };
    const created = (await faucet.createAccount({ newAccountId: hotAccount, publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('2') })) as unknown as Sent;
    const topUp = (await faucet.transfer({ receiverId: hotAccount, amount: nearToYocto('0.5') })) as unknown as Sent;
    const elsewhere = (await faucet.transfer({ receiverId: near.faucet.accountId, amount: nearToYocto('0.1') })) as unknown as Sent;
    const from = near.faucet.accountId;

    for (const sent of [created, topUp]) {
      const booked = await recordFunding(['--chain', 'near', '--tx', sent.transaction_outcome.id, '--from', from]);
      assert.equal(booked.code, 0, booked.stderr);
      assert.equal(booked.answer?.account, hotAccount);
    }
    const again = await recordFunding(['--chain', 'near', '--tx', topUp.transaction_outcome.id, '--from', from]);
    assert.equal(BigInt(again.answer!.yocto!), nearToYocto('0.5'));
    assert.equal(await ledger('treasury:near:hot', 'NEAR'), nearToYocto('2.5'), 'each transaction booked once');

    const refused = await recordFunding(['--chain', 'near', '--tx', elsewhere.transaction_outcome.id, '--from', from]);
    assert.equal(refused.code, 2, 'refused as a usage error');
    assert.match(refused.stderr, /does not transfer NEAR to coffer's hot account coffer\.devnet/);
    const { rows } = await db.pool.query<{ metadata: { from: string } }>("SELECT metadata FROM journal_entries WHERE kind = 'treasury.funded' ORDER BY id");
    assert.deepEqual(rows.map((r) => r.metadata.from), [from, from]);
  });
});
