import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Account, JsonRpcProvider, KeyPair, getTransactionLastResult, nearToYocto, teraToGas } from 'near-api-js';
import { ChainSignaturesSigner, derivePublicKey, formatNajKey, nearSignCall, parseSignResponse, signCallArguments } from '../../signer/index.ts';
import { startNearDevnet, type NearDevnet } from './index.ts';

type Outcome = { status: unknown; receipts_outcome: { outcome: { executor_id: string; status: unknown } }[] };

describe('the devnet MPC signer contract', () => {
  let devnet: NearDevnet;
  let provider: JsonRpcProvider;
  let caller: Account;
  const callerId = 'app.devnet';
  const digest = new Uint8Array(createHash('sha256').update('a sweep transaction').digest());

  before(async () => {
    devnet = await startNearDevnet({ blocks: 'on-demand' });
    provider = new JsonRpcProvider({ url: devnet.rpcUrl });
    const faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
    const key = KeyPair.fromRandom('ed25519');
    await faucet.createAccount({ newAccountId: callerId, publicKey: key.getPublicKey(), nearToTransfer: nearToYocto('1') });
    caller = new Account(callerId, provider, key.toString());
  });
  after(() => devnet.stop());

  test('describe() names the contract; its views report the devnet roots and the derived keys', async () => {
    assert.deepEqual(Object.keys(devnet.describe()), ['chain', 'rpcUrl', 'faucet', 'signerContract', 'tokens']);
    assert.equal(devnet.describe().signerContract, devnet.signerContract);
    const contractId = devnet.signerContract;
    assert.equal(await provider.callFunction({ contractId, method: 'public_key', args: {} }), devnet.mpcRootKeys.secp256k1);
    assert.equal(await provider.callFunction({ contractId, method: 'public_key', args: { domain_id: 1 } }), devnet.mpcRootKeys.ed25519);
    const derived = await provider.callFunction({ contractId, method: 'derived_public_key', args: { path: 'ethereum-1', predecessor: callerId, domain_id: 0 } });
    assert.equal(derived, formatNajKey('secp256k1', derivePublicKey({ root: devnet.mpcRootKeys.secp256k1, predecessor: callerId, path: 'ethereum-1' }).publicKey));
  });

  test('an Ecdsa sign returns the real contract shape and recovers, with recovery_id, to the derived key', async () => {
    const outcome = (await caller.callFunctionRaw({
      contractId: devnet.signerContract,
      methodName: 'sign',
      args: { request: { path: 'ethereum-1', payload_v2: { Ecdsa: Buffer.from(digest).toString('hex') }, domain_id: 0 } },
      gas: teraToGas('300'),
      deposit: 1n,
      waitUntil: 'FINAL',
    })) as unknown as Outcome;
    const response = getTransactionLastResult(outcome as never) as Record<string, unknown>;
    assert.deepEqual(Object.keys(response).sort(), ['big_r', 'recovery_id', 's', 'scheme']);
    assert.equal(response.scheme, 'Secp256k1');
    assert.match((response.big_r as { affine_point: string }).affine_point, /^0[23][0-9a-f]{64}$/);
    assert.match((response.s as { scalar: string }).scalar, /^[0-9a-f]{64}$/);
    const signature = parseSignResponse(response, 'secp256k1');
    assert.equal(signature.curve, 'secp256k1');
    if (signature.curve !== 'secp256k1') return;
    const recovered = new secp256k1.Signature(signature.r, signature.s, signature.recoveryId).recoverPublicKey(digest).toBytes(false);
    const derived = derivePublicKey({ root: devnet.mpcRootKeys.secp256k1, predecessor: callerId, path: 'ethereum-1' }).publicKey;
    assert.deepEqual(recovered, derived);
    // Another predecessor's key for the same path is a different key.
    assert.notDeepEqual(recovered, derivePublicKey({ root: devnet.mpcRootKeys.secp256k1, predecessor: 'other.devnet', path: 'ethereum-1' }).publicKey);
  });

  test('an Eddsa sign verifies under the derived ed25519 key', async () => {
    const message = new Uint8Array(Buffer.from('a solana message, longer than thirty-two bytes'));
    const response = await caller.callFunction({
      contractId: devnet.signerContract,
      methodName: 'sign',
      args: signCallArguments({ predecessor: callerId, path: 'solana-1', curve: 'ed25519' }, message),
      gas: teraToGas('300'),
      deposit: 1n,
    });
    assert.equal((response as { scheme: string }).scheme, 'Ed25519');
    const signature = parseSignResponse(response, 'ed25519');
    assert.equal(signature.curve, 'ed25519');
    if (signature.curve !== 'ed25519') return;
    const derived = derivePublicKey({ root: devnet.mpcRootKeys.ed25519, predecessor: callerId, path: 'solana-1' }).publicKey;
    assert.equal(ed25519.verify(signature.signature, message, derived, { zip215: false }), true);
  });

  test("coffer's chain-signatures backend signs through the devnet with its real NEAR transport", async () => {
    const signer = new ChainSignaturesSigner({ contractId: devnet.signerContract, roots: devnet.mpcRootKeys, call: nearSignCall(caller) });
    const signature = await signer.sign({ predecessor: callerId, path: 'bitcoin-1', curve: 'secp256k1' }, digest);
    assert.equal(signature.curve, 'secp256k1');
  });

  test('without a deposit the call fails; an excess deposit comes back from the contract', async () => {
    const args = { request: { path: 'ethereum-1', payload_v2: { Ecdsa: Buffer.from(digest).toString('hex') }, domain_id: 0 } };
    await assert.rejects(
      caller.callFunction({ contractId: devnet.signerContract, methodName: 'sign', args, gas: teraToGas('300') }),
      (error: Error) => error.message.includes('Attached deposit is lower than required'),
    );
    const contractBefore = (await provider.viewAccount({ accountId: devnet.signerContract })).amount;
    const outcome = (await caller.callFunctionRaw({ contractId: devnet.signerContract, methodName: 'sign', args, gas: teraToGas('300'), deposit: nearToYocto('0.5') })) as unknown as Outcome;
    assert.ok(outcome.receipts_outcome.some((receipt) => receipt.outcome.executor_id === callerId));
    assert.equal((await provider.viewAccount({ accountId: devnet.signerContract })).amount - contractBefore, 1n);
  });

  test('a payload of the wrong scheme for the domain is refused', async () => {
    await assert.rejects(
      caller.callFunction({
        contractId: devnet.signerContract,
        methodName: 'sign',
        args: { request: { path: 'x', payload_v2: { Eddsa: Buffer.from(digest).toString('hex') }, domain_id: 0 } },
        gas: teraToGas('300'),
        deposit: 1n,
      }),
      (error: Error) => error.message.includes('Payload scheme does not match the domain'),
    );
  });
});
