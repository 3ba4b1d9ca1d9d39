// NEAR_START_BLOCK: a fresh database indexes NEAR from that block, not from genesis, as
// EVM_START_BLOCK and BITCOIN_START_HEIGHT do for theirs. A deposit before it is never seen; one
// after it is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { startNearDevnet, type NearDevnet } from '../../devnets/index.ts';
import { loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { createNearFollower } from './run.ts';

let devnet: NearDevnet;
let db: TestDatabase;
let writer: LedgerWriter;

before(async () => {
  devnet = await startNearDevnet({ blocks: 'on-demand' });
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool, logger: silentLogger });
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await devnet?.stop();
});

test('a fresh database follows NEAR from NEAR_START_BLOCK: a deposit before it is not seen, one after it is', async () => {
  const faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
  const accountId = Buffer.from(KeyPair.fromRandom('ed25519').getPublicKey().data).toString('hex');
  const user = await createUser(db.pool, { nearAccountId: accountId });
  await getDepositAddress(db.pool, user.id, 'near', { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: 'unused', ed25519: 'unused' } });
  await faucet.transfer({ receiverId: accountId, amount: nearToYocto('1') });
  devnet.produceBlocks(3);
  const start = devnet.chain.head.height + 1;

  const config = loadConfig({ DATABASE_URL: db.url, NEAR_RPC_URL: devnet.rpcUrl, NEAR_START_BLOCK: String(start) });
  const follower = await createNearFollower({ pool: db.pool, writer, config, logger: silentLogger });
  await follower.connect();
  await faucet.transfer({ receiverId: accountId, amount: nearToYocto('0.5') });
  devnet.produceBlocks(3);
  let first: number | null = null;
  for (let batch = await follower.step(); batch; batch = await follower.step()) first ??= batch.fromHeight;
  assert.equal(first, start, 'the first block read is NEAR_START_BLOCK');

  const { rows } = await db.pool.query<{ amount: string }>("SELECT p.amount::text FROM journal_entries e JOIN postings p ON p.entry_id = e.id WHERE e.kind = 'deposit.confirmed'");
  assert.deepEqual(rows.map((r) => BigInt(r.amount)), [nearToYocto('0.5')], 'only the deposit after the start block');
});
