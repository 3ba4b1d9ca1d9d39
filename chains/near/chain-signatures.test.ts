// SIGNER_BACKEND=chain-signatures for real: an ETH deposit on anvil is swept with a signature
// the devnet's MPC contract produced, called as the user's NEAR account with the key imported
// into the keystore. Without that key the sweep fails closed and the deposit stays in custody.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem';
import { startAnvil, startNearDevnet, type Anvil, type NearDevnet } from '../../devnets/index.ts';
import { silentLogger } from '../../infra/index.ts';
import { depositEntryKinds, getBalances, LedgerWriter } from '../../ledger/index.ts';
import { ChainSignaturesSigner, importNearKey, Keystore, keystoreSigner, nearKeyName, storedNearPublicKey } from '../../signer/index.ts';
import { sweepDeposit, type SweepContext } from '../../sweeps/sweeps.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { accessKeyKind, chainAdapter, mpcRootKeys, nearKeystoreSignCall, type SignCost } from '../index.ts';

let anvil: Anvil;
let devnet: NearDevnet;
let db: TestDatabase;
let writer: LedgerWriter;
let keystore: Keystore;
let directory: string;
let context: SweepContext;
const costs: SignCost[] = [];

before(async () => {
  [anvil, devnet] = await Promise.all([startAnvil(), startNearDevnet({ blocks: 'on-demand' })]);
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  directory = await mkdtemp(join(tmpdir(), 'coffer-chain-signatures-'));
  keystore = new Keystore({ directory, passphrase: 'chain signatures test passphrase', kdf: { m: 256, t: 1, p: 1 } });
  const signer = new ChainSignaturesSigner({
    contractId: devnet.signerContract,
    roots: await mpcRootKeys(devnet.rpcUrl, devnet.signerContract),
    call: nearKeystoreSignCall({
      rpcUrl: devnet.rpcUrl,
      publicKeyOf: (accountId) => storedNearPublicKey(directory, accountId),
      keyName: nearKeyName,
      sign: keystoreSigner(keystore),
      onCost: (cost) => Promise.resolve(void costs.push(cost)),
    }),
  });
  context = {
    pool: db.pool,
    writer,
    signer,
    chains: new Map([['ethereum', { adapter: chainAdapter('ethereum'), rpcUrl: anvil.url, treasury: anvil.accounts[9]!, confirmations: 1, trackTimeoutMs: 20_000, pollIntervalMs: 50 }]]),
    logger: silentLogger,
  };
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await Promise.all([anvil?.stop(), devnet?.stop()]);
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function deposit(userId: string, address: Address, wei: bigint): Promise<bigint> {
  const chain = createPublicClient({ transport: http(anvil.url) });
  const hash = await createWalletClient({ account: anvil.accounts[1]!, transport: http(anvil.url) }).sendTransaction({ to: address, value: wei, chain: null });
  const receipt = await chain.waitForTransactionReceipt({ hash, timeout: 20_000 });
  const depositKey = `ethereum:${hash}:value:deposit@${receipt.blockHash}`;
  const [pending] = await writer.transaction((t) =>
    t.append([
      { kind: depositEntryKinds.pending, idempotencyKey: depositKey, sourceRef: hash, metadata: { chain: 'ethereum', userId, address }, postings: [{ source: 'world:ethereum', destination: `deposits:ethereum:${address}:pending`, asset: 'ETH', amount: wei }] },
      { kind: depositEntryKinds.confirmed, idempotencyKey: `ethereum:${hash}:value:confirm@${receipt.blockHash}`, metadata: { depositKey }, postings: [{ source: `deposits:ethereum:${address}:pending`, destination: `custody:ethereum:${address}`, asset: 'ETH', amount: wei }] },
    ]),
  );
  return pending?.status === 'created' ? pending.entry.id : 0n;
}

describe('the chain-signatures signer on the devnet MPC contract', () => {
  test('an EVM sweep is signed by the MPC contract called with the user\'s imported key; without the key it fails closed', async () => {
    const provider = new JsonRpcProvider({ url: devnet.rpcUrl });
    const faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
    const key = KeyPair.fromRandom('ed25519');
    await faucet.createAccount({ newAccountId: 'erin.devnet', publicKey: key.getPublicKey(), nearToTransfer: nearToYocto('1') });
    const user = await createUser(db.pool, { nearAccountId: 'erin.devnet' });
    const roots = await mpcRootKeys(devnet.rpcUrl, devnet.signerContract);
    assert.deepEqual(roots, devnet.mpcRootKeys, 'the roots are the contract\'s public_key');
    const address = (await getDepositAddress(db.pool, user.id, 'ethereum', { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots })).address as Address;
    const entry = await deposit(user.id, address, 10n ** 17n);

    await assert.rejects(sweepDeposit(context, entry), /no key for erin\.devnet in the keystore/);
    assert.equal((await getBalances(db.pool, { account: `custody:ethereum:${address}`, asset: 'ETH' }))[0]?.balance, 10n ** 17n, 'the deposit stays in custody');

    await importNearKey({ keystore, accountId: 'erin.devnet', privateKey: key.toString(), accessKeyKind: (a, p) => accessKeyKind(devnet.rpcUrl, a, p) });
    const swept = await sweepDeposit(context, entry);
    assert.equal(swept.status, 'confirmed');
    const tx = await createPublicClient({ transport: http(anvil.url) }).getTransaction({ hash: (swept.status === 'confirmed' ? swept.txHash : '0x') as Hex });
    assert.equal(tx.from.toLowerCase(), address.toLowerCase(), 'the signature recovers to the deposit address');
    assert.equal(costs.length, 1, 'one sign call');
    assert.equal(costs[0]!.predecessor, 'erin.devnet');
    assert.ok(costs[0]!.feeYocto > 0n && costs[0]!.feeYocto < nearToYocto('0.03'), `a sign call burns less than its 0.03 NEAR prepaid gas (${costs[0]!.feeYocto})`);
  });
});
