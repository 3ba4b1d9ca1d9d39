// The paymaster's signer rotation on anvil, judged by the EntryPoint itself (handleOps simulated
// from an EOA, as a bundler does): an operation the service signed before the rotation is still
// accepted during the overlap, the old key is retired only after the overlap and the last
// validUntil it signed, then its signatures fail with AA34 while the new key's pass. A rotation
// stopped after its setSigner was broadcast completes when run again, two rotations started
// together run one after the other, and the operator API and the CLI rotate the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, getAddress, http, numberToHex, recoverMessageAddress, slice, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { toPackedUserOperation, type UserOperation as ViemUserOperation } from 'viem/account-abstraction';
import { toSimpleSmartAccount } from 'permissionless/accounts';
import { evmOperationalKey, signatureHex } from '../chains/index.ts';
import { deployContracts, readPackagedArtifact, type DeployedContracts } from '../contracts/index.ts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import { responseSchemas } from '../api/responses.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { entryPointAbi } from '../relayer/index.ts';
import { listRotations } from '../rotations/index.ts';
import { Keystore, OperationalKey } from '../signer/index.ts';
import { runCoffer } from '../testing/cli.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import {
  activePaymasterSigner,
  advancePaymasterSignerRotations,
  encodePaymasterData,
  handlePaymasterRpc,
  paymasterHash,
  paymasterSignerAbi,
  parseUserOperation,
  resolvePaymasterOwner,
  rotatePaymasterSigner,
  setSponsorPolicy,
  type PaymasterOwner,
  type SignerRotationContext,
  type SponsorContext,
} from './index.ts';

const dead: Address = '0x000000000000000000000000000000000000dEaD';
const validitySeconds = 300;
const verificationGas = 60_000n;
const passphrase = 'rotation-test-passphrase';

describe('rotating the paymaster signing key', () => {
  let anvil: Anvil;
  let db: TestDatabase;
  let dir: string;
  let keystore: Keystore;
  let contracts: DeployedContracts;
  let client: PublicClient;
  let sponsor: SponsorContext;
  let rotation: SignerRotationContext;
  let entryPoint: Abi;
  /** The rotation's clock, moved past overlaps and validUntils instead of waiting for them. */
  let clockOffsetMs = 0;
  const owner = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    anvil = await startAnvil();
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'coffer-paymaster-rotation-'));
    keystore = new Keystore({ directory: join(dir, 'keys'), passphrase, kdf: { m: 256, t: 1, p: 1 } });
    await keystore.create('paymaster-signer', 'secp256k1');
    const firstAddress = evmOperationalKey(new OperationalKey(await keystore.load('paymaster-signer'))).address;
    contracts = await deployContracts({ rpcUrl: anvil.url, paymasterSigners: [firstAddress] });
    client = createPublicClient({ transport: http(anvil.url) });
    const funder = createWalletClient({ account: anvil.accounts[1]!, transport: http(anvil.url) });
    await client.waitForTransactionReceipt({ hash: await funder.writeContract({ address: contracts.entryPoint, abi: entryPointAbi, functionName: 'depositTo', args: [contracts.verifyingPaymaster], value: 10n ** 18n, chain: null }) });
    entryPoint = (await readPackagedArtifact('EntryPoint')).abi as Abi;
    await setSponsorPolicy(db.pool, { rules: [] }, 'test');
    sponsor = {
      pool: db.pool, logger: silentLogger, chainId: anvil.chainId, entryPoint: contracts.entryPoint, paymaster: contracts.verifyingPaymaster,
      signer: activePaymasterSigner({ keystore, paymaster: contracts.verifyingPaymaster, initialKeyName: 'paymaster-signer' }),
      validitySeconds, paymasterVerificationGasLimit: verificationGas, signaturesPerMinuteMax: 1_000, unincludedMax: 1_000,
    };
    rotation = {
      pool: db.pool, logger: silentLogger, keystore, client, paymaster: contracts.verifyingPaymaster, initialKeyName: 'paymaster-signer',
      owner: () => resolvePaymasterOwner({ client, keystore, paymaster: contracts.verifyingPaymaster }),
      now: () => new Date(Date.now() + clockOffsetMs),
    };
  });
  after(async () => {
    await db?.drop();
    await anvil?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const account = () => toSimpleSmartAccount({ client: createPublicClient({ chain: foundry, transport: http(anvil.url) }), owner, entryPoint: { address: contracts.entryPoint, version: '0.8' } });
  const isSigner = (address: Address) => client.readContract({ address: contracts.verifyingPaymaster, abi: paymasterSignerAbi, functionName: 'isSigner', args: [address] });

  /** The account's first operation (it deploys the account), without paymaster data yet. */
  async function unsignedOperation() {
    const smart = await account();
    const factory = await smart.getFactoryArgs();
    const fees = await client.estimateFeesPerGas();
    return {
      smart,
      op: {
        sender: smart.address,
        nonce: await smart.getNonce(),
        factory: factory.factory!,
        factoryData: factory.factoryData!,
        callData: await smart.encodeCalls([{ to: dead, value: 0n }]),
        callGasLimit: 100_000n,
        verificationGasLimit: 500_000n,
        preVerificationGas: 60_000n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      },
    };
  }

  /** An operation with paymasterData from the sponsor service, and the address that signed it. */
  async function sponsored(): Promise<{ packed: ReturnType<typeof toPackedUserOperation>; signer: Address }> {
    const { smart, op } = await unsignedOperation();
    const hex = (n: bigint) => numberToHex(n);
    const wire = { ...op, nonce: hex(op.nonce), callGasLimit: hex(op.callGasLimit), verificationGasLimit: hex(op.verificationGasLimit), preVerificationGas: hex(op.preVerificationGas), maxFeePerGas: hex(op.maxFeePerGas), maxPriorityFeePerGas: hex(op.maxPriorityFeePerGas), signature: '0x' };
    const answer = await handlePaymasterRpc(sponsor, { jsonrpc: '2.0', id: 1, method: 'pm_getPaymasterData', params: [wire, contracts.entryPoint, numberToHex(anvil.chainId), null] }, { apiKeyId: null });
    assert.ok('result' in answer, JSON.stringify(answer));
    const result = answer.result as { paymasterData: Hex };
    const validUntil = Number(BigInt(slice(result.paymasterData, 0, 32)));
    const hash = paymasterHash(parseUserOperation(wire), { verificationGasLimit: verificationGas, postOpGasLimit: 0n }, { chainId: anvil.chainId, paymaster: contracts.verifyingPaymaster, validUntil, validAfter: 0 });
    const signer = await recoverMessageAddress({ message: { raw: hash }, signature: slice(result.paymasterData, 64) });
    return { packed: await finish(smart, op, result.paymasterData), signer };
  }

  /** The same operation signed directly with a keystore key (as a leaked or retired key would). */
  async function signedBy(keyName: string) {
    const { smart, op } = await unsignedOperation();
    const key = evmOperationalKey(new OperationalKey(await keystore.load(keyName)));
    const validUntil = Math.floor(Date.now() / 1000) + validitySeconds;
    const hash = paymasterHash({ ...op, initCode: `${op.factory}${op.factoryData.slice(2)}` as Hex }, { verificationGasLimit: verificationGas, postOpGasLimit: 0n }, { chainId: anvil.chainId, paymaster: contracts.verifyingPaymaster, validUntil, validAfter: 0 });
    return finish(smart, op, encodePaymasterData(validUntil, 0, signatureHex(key.signMessage(hash)).sig));
  }

  async function finish(smart: Awaited<ReturnType<typeof account>>, op: Awaited<ReturnType<typeof unsignedOperation>>['op'], paymasterData: Hex) {
    const unsigned = { ...op, paymaster: contracts.verifyingPaymaster, paymasterVerificationGasLimit: verificationGas, paymasterPostOpGasLimit: 0n, paymasterData, signature: '0x' as Hex };
    const full: ViemUserOperation<'0.8'> = { ...unsigned, signature: await smart.signUserOperation({ ...unsigned, chainId: anvil.chainId }) };
    return toPackedUserOperation(full);
  }

  /** handleOps as a bundler would send it, simulated: validation runs on chain, nothing is mined. */
  const handleOps = (packed: ReturnType<typeof toPackedUserOperation>) =>
    client.simulateContract({ address: contracts.entryPoint, abi: entryPoint, functionName: 'handleOps', args: [[packed], anvil.accounts[0]!], account: anvil.accounts[0]! });
  const rejectedAsAA34 = (error: Error) => /AA34 signature error/.test(error.message);

  test('an operation signed before the rotation stays valid through the overlap; after retirement the old key fails with AA34, the new one passes', async () => {
    const before = await sponsored();
    const oldAddress = before.signer;
    assert.equal(await isSigner(oldAddress), true);

    const rotated = await rotatePaymasterSigner(rotation, { overlapSeconds: 60, actor: 'operator:test' });
    assert.equal(rotated.status, 'activated');
    assert.equal(rotated.oldAddress, oldAddress);
    assert.equal(rotated.newKeyName, 'paymaster-signer-r2');
    assert.deepEqual([await isSigner(oldAddress), await isSigner(rotated.newAddress)], [true, true], 'both keys are accepted during the overlap');

    const after = await sponsored();
    assert.equal(after.signer, rotated.newAddress, 'the service signs with the new key at once');
    await handleOps(before.packed);
    await handleOps(after.packed);

    clockOffsetMs = 61_000;
    assert.deepEqual(await advancePaymasterSignerRotations(rotation), { activated: 0, retired: 0, busy: false }, 'past the overlap, but the old key signed an operation still valid: not yet');
    assert.equal(await isSigner(oldAddress), true);
    clockOffsetMs = (validitySeconds + 1) * 1000;
    assert.deepEqual(await advancePaymasterSignerRotations(rotation), { activated: 0, retired: 1, busy: false });
    assert.deepEqual([await isSigner(oldAddress), await isSigner(rotated.newAddress)], [false, true]);

    await assert.rejects(handleOps(await signedBy('paymaster-signer')), rejectedAsAA34, 'signed with the old key after its retirement');
    await assert.rejects(handleOps(before.packed), rejectedAsAA34, 'what the old key signed is dead once it is retired');
    const fresh = await sponsored();
    assert.equal(fresh.signer, rotated.newAddress);
    await handleOps(fresh.packed);
    await handleOps(await signedBy('paymaster-signer-r2'));

    const events = await listRotations(db.pool, { kind: 'paymaster_signer' });
    assert.deepEqual(events.map((e) => [e.step, e.oldRef, e.newRef]).reverse(), [
      ['rotated', oldAddress, rotated.newAddress],
      ['activated', oldAddress, rotated.newAddress],
      ['retired', oldAddress, rotated.newAddress],
    ]);
    assert.equal(events.find((e) => e.step === 'activated')?.overlapUntil?.getTime(), rotated.retireAfter?.getTime());
  });

  test('a rotation stopped after broadcasting its setSigner completes when run again, with the same key', async () => {
    clockOffsetMs = 0;
    const real = await rotation.owner();
    // Stands for a process killed right after its transaction left: the send is real, then it dies.
    const dyingOwner: PaymasterOwner = { address: real.address, send: async (call) => { await real.send(call); throw new Error('killed after broadcasting'); } };
    await assert.rejects(rotatePaymasterSigner({ ...rotation, owner: () => Promise.resolve(dyingOwner) }, { overlapSeconds: 0, actor: 'operator:test' }), /killed after broadcasting/);
    const { rows } = await db.pool.query<{ status: string; new_key_name: string }>(`SELECT status, new_key_name FROM paymaster_signer_rotations ORDER BY id DESC LIMIT 1`);
    assert.deepEqual(rows[0], { status: 'prepared', new_key_name: 'paymaster-signer-r3' });
    assert.equal((await sponsored()).signer, getAddress((await listActive()).new_address), 'until it completes, the previous key signs');

    const resumed = await rotatePaymasterSigner(rotation, { overlapSeconds: 0, actor: 'operator:test' });
    assert.equal(resumed.newKeyName, 'paymaster-signer-r3', 'the stopped rotation, not a new one');
    assert.equal(resumed.status, 'activated');
    assert.equal(await isSigner(resumed.newAddress), true);
    assert.equal((await sponsored()).signer, resumed.newAddress);
    const rotatedEvents = (await listRotations(db.pool, { kind: 'paymaster_signer' })).filter((e) => e.step === 'rotated' && e.newRef === resumed.newAddress);
    assert.equal(rotatedEvents.length, 1);
  });

  test('two rotations started together run one after the other', async () => {
    const [first, second] = await Promise.all([
      rotatePaymasterSigner(rotation, { overlapSeconds: 0, actor: 'operator:a' }),
      rotatePaymasterSigner(rotation, { overlapSeconds: 0, actor: 'operator:b' }),
    ]);
    const [earlier, later] = Number(first.id) < Number(second.id) ? [first, second] : [second, first];
    assert.equal(later.oldAddress, earlier.newAddress, 'the second started from the key the first made active');
    assert.deepEqual([earlier.status, later.status], ['activated', 'activated']);
    assert.equal((await sponsored()).signer, later.newAddress);
    // Nothing is left outstanding for the retired keys once their signatures expire.
    clockOffsetMs = (validitySeconds + 1) * 1000;
    const pass = await advancePaymasterSignerRotations(rotation);
    assert.equal(pass.retired, 3, 'paymaster-signer-r2, -r3 and -r4 leave the set once what they signed has expired');
    assert.equal(await isSigner(later.oldAddress), false);
    assert.equal(await isSigner(later.newAddress), true);
    await handleOps((await sponsored()).packed);
  });

  test('the operator API and `coffer paymaster signer rotate --json` rotate the same way, and show it', async () => {
    clockOffsetMs = 0;
    const writer = new LedgerWriter({ pool: db.pool });
    try {
      const app = createApp({ pool: db.pool, writer, logger: silentLogger, paymasterSigner: rotation });
      const operator = (await createApiKey(db.pool, { role: 'operator' })).key;
      const auditor = (await createApiKey(db.pool, { role: 'auditor' })).key;
      const call = (path: string, key: string, init: RequestInit = {}) => app.request(path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
      assert.equal((await call('/v1/paymaster/signer/rotate', auditor, { method: 'POST' })).status, 403, 'operators only');
      const answer = await call('/v1/paymaster/signer/rotate', operator, { method: 'POST', body: JSON.stringify({ overlap: '15m' }) });
      assert.equal(answer.status, 201);
      const byApi = responseSchemas.PaymasterSignerRotation.parse(await answer.json());
      assert.equal(byApi.status, 'activated');
      assert.equal(Date.parse(byApi.retireAfter!) - Date.parse(byApi.activatedAt!), 15 * 60_000);
      assert.equal(await isSigner(getAddress(byApi.newAddress)), true);

      const cli = await runCoffer(['paymaster', 'signer', 'rotate', '--overlap', '0', '--json'], {
        env: { ...process.env, DATABASE_URL: db.url, EVM_RPC_URL: anvil.url, EVM_PAYMASTER_ADDRESS: contracts.verifyingPaymaster, COFFER_KEYSTORE_DIR: keystore.directory, COFFER_KEYSTORE_PASSPHRASE: passphrase },
      });
      assert.equal(cli.code, 0, cli.stderr);
      const byCli = responseSchemas.PaymasterSignerRotation.parse(JSON.parse(cli.stdout));
      assert.equal(byCli.oldAddress, byApi.newAddress, 'the CLI rotated from the key the API made active');
      assert.equal(await isSigner(getAddress(byCli.newAddress)), true);
      assert.equal((await sponsored()).signer, getAddress(byCli.newAddress), 'the service follows a rotation made by another process');

      const shown = responseSchemas.PaymasterSigner.parse(await (await call('/v1/paymaster/signer', auditor)).json());
      assert.equal(shown.activeKey, byCli.newKeyName);
      assert.deepEqual(shown.rotations.slice(0, 2).map((r) => r.id), [byCli.id, byApi.id]);
      // More than ten events by now: newest first by number, not as text ('9' > '16').
      const audit = responseSchemas.RotationPage.parse(await (await call('/v1/admin/rotations?kind=paymaster_signer&limit=2', auditor)).json());
      assert.deepEqual(audit.data.map((e) => [e.step, e.newRef, e.actor]), [['activated', byCli.newAddress, 'cli'], ['rotated', byCli.newAddress, 'cli']]);
    } finally {
      await writer.close();
    }
  });

  async function listActive() {
    const { rows } = await db.pool.query<{ new_address: string }>(`SELECT new_address FROM paymaster_signer_rotations WHERE status <> 'prepared' ORDER BY id DESC LIMIT 1`);
    return rows[0]!;
  }
});
