import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  ChainSignaturesEmulator,
  ChainSignaturesSigner,
  EmulatorSigner,
  SignerError,
  derivePublicKey,
  parseSignResponse,
  rootKeys,
  signCallArguments,
  solanaAddress,
  toBitcoinDer,
  toEthereumSignature,
  type SignCall,
} from './index.ts';

// Research §7.3: development roots and the exact responses they must give (RFC 6979, no extra entropy).
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});
const hexBytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

describe('the chain-signatures emulator', () => {
  test('its roots and responses match the research vectors (7.3)', () => {
    assert.equal(emulator.rootKey('secp256k1'), 'secp256k1:4SeGm3jAJCFfJQT6t2KnsNRoW3L7GCLbZEq6GaHYSTWPovDzxRUxvwg7UohGeAbyjNFi8vmRjZTJhL8Qc4AsLooQ');
    assert.equal(emulator.rootKey('ed25519'), 'ed25519:Dxg1DEun9uJXQkvz1fUsNmrkYEcAwQfExMW8ufkczaZ6');
    const hello = keccak_256(new TextEncoder().encode('hello'));
    assert.equal(Buffer.from(hello).toString('hex'), '1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8');
    assert.deepEqual(emulator.sign({ predecessor: 'user123.app.testnet', path: 'ethereum-1', payload: hello, curve: 'secp256k1' }), {
      scheme: 'Secp256k1',
      big_r: { affine_point: '02fb0e6d1727f3cc90c75ca5ef7744f30dd8078c547dc1152029e0783f56c2742b' },
      s: { scalar: '7ffa4fbfa4d59cde48d493e0663fa1193521a4abd1ba218f50810bbe078c6cc2' },
      recovery_id: 0,
    });
    const second = emulator.sign({ predecessor: 'user123.app.testnet', path: 'ethereum-1', payload: hexBytes('3b082225753a53cbd108ca91b700f7d8cea3c9df963f6f371e056a23a097273f'), curve: 'secp256k1' });
    const parsed = parseSignResponse(second, 'secp256k1');
    assert.equal(parsed.curve === 'secp256k1' && parsed.recoveryId, 1);
    if (parsed.curve !== 'secp256k1') throw new Error('unreachable');
    assert.deepEqual(toEthereumSignature(parsed), {
      r: '0x756fecd090b02b0336c47ded487976fef74ce39f3563c04bf5f01adbf1f959e6',
      s: '0x4d0690af0311f117907bd82ba794e3fc2563c2470c52e959c7824778913e72ff',
      yParity: 1,
    });
    assert.equal(Buffer.from(toBitcoinDer(parsed)).toString('hex'), '30440220756fecd090b02b0336c47ded487976fef74ce39f3563c04bf5f01adbf1f959e602204d0690af0311f117907bd82ba794e3fc2563c2470c52e959c7824778913e72ff01');
    assert.equal(solanaAddress(derivePublicKey({ root: emulator.rootKey('ed25519'), predecessor: 'user123.app.testnet', path: 'solana-1' }).publicKey), '249jVWf1muMm4AiRFuRGYzgQ43N2Q3yxM1pYSNZjTEty');
    const solana = emulator.sign({ predecessor: 'user123.app.testnet', path: 'solana-1', payload: new TextEncoder().encode('solana message'), curve: 'ed25519' }) as { signature: number[] };
    assert.equal(Buffer.from(solana.signature).toString('hex'), 'a91972542e44fdba748f0bd7e6569e3b2f12cda4ba185e4ed3a8b2a195f05cca1167d3de711dc6ebe16e124ad86eceee8823ed51da8061f78b4faa11e628f40a');
  });

  test('the signer verifies every signature against the derived key, low-s, on both curves', async () => {
    const signer = new EmulatorSigner(emulator);
    for (let i = 0; i < 20; i += 1) {
      const digest = keccak_256(new TextEncoder().encode(`payload ${i}`));
      const key = { predecessor: 'user123.app.testnet', path: `ethereum-${i % 3}`, curve: 'secp256k1' as const };
      const signature = await signer.sign(key, digest);
      assert.ok(signature.curve === 'secp256k1' && signature.s <= secp256k1.Point.Fn.ORDER / 2n);
      const ed = await signer.sign({ ...key, path: `solana-${i % 3}`, curve: 'ed25519' }, new TextEncoder().encode(`message ${i}`));
      assert.equal(ed.curve, 'ed25519');
    }
    await assert.rejects(signer.sign({ predecessor: 'a.near', path: 'x', curve: 'secp256k1' }, new Uint8Array(31)), /32-byte digest/);
  });
});

describe('MPC contract responses', () => {
  // near/mpc docs/localnet/localnet.md: uppercase hex, as the contract returns it.
  const localnet = {
    big_r: { affine_point: '036080C3D1CC86EB785F8FBB3E216786D9A9ABAB30CB6D85FC7D5157BB3E8873C5' },
    recovery_id: 1,
    s: { scalar: '28DC2AB7BC81EB919797FA932632B35B6C3E8B8C037B11EC5F4071F184B3165D' },
    scheme: 'Secp256k1',
  };

  test('real response shapes parse: uppercase hex, with or without "scheme", Ed25519 arrays', () => {
    const parsed = parseSignResponse(localnet, 'secp256k1');
    assert.ok(parsed.curve === 'secp256k1');
    assert.equal(parsed.r, 0x6080c3d1cc86eb785f8fbb3e216786d9a9abab30cb6d85fc7d5157bb3e8873c5n);
    assert.equal(parsed.recoveryId, 1);
    const { scheme: _scheme, ...legacy } = localnet;
    assert.equal(parseSignResponse(legacy, 'secp256k1').curve, 'secp256k1');
    const ed = parseSignResponse({ scheme: 'Ed25519', signature: Array.from({ length: 64 }, (_, i) => i) }, 'ed25519');
    assert.equal(ed.curve === 'ed25519' && ed.signature.length, 64);
  });

  test('recovery_id decides the parity, never the big_r prefix (4.4)', () => {
    const flipped = { ...localnet, big_r: { affine_point: '02' + localnet.big_r.affine_point.slice(2) } };
    const parsed = parseSignResponse(flipped, 'secp256k1');
    assert.equal(parsed.curve === 'secp256k1' && parsed.recoveryId, 1);
  });

  test('malformed or unsafe responses are refused', () => {
    const cases: [unknown, RegExp][] = [
      [null, /no signature object/],
      [{ ...localnet, recovery_id: 2 }, /recovery_id must be 0 or 1/],
      [{ ...localnet, s: { scalar: 'F'.repeat(64) } }, /out of range|low-s/],
      [{ ...localnet, s: { scalar: (secp256k1.Point.Fn.ORDER - 5n).toString(16) } }, /low-s/],
      [{ ...localnet, big_r: { affine_point: 'zz' } }, /33-byte/],
      [{ scheme: 'Ed25519', signature: [1, 2, 3] }, /Secp256k1/],
    ];
    for (const [response, reason] of cases) assert.throws(() => parseSignResponse(response, 'secp256k1'), reason);
    assert.throws(() => parseSignResponse({ scheme: 'Ed25519', signature: [1, 2, 3] }, 'ed25519'), /64 byte/);
  });

  test('the chain-signatures signer sends contract v2 arguments and fails closed', async () => {
    const key = { predecessor: 'user123.app.testnet', path: 'ethereum-1', curve: 'secp256k1' as const };
    const digest = keccak_256(new TextEncoder().encode('hello'));
    assert.deepEqual(signCallArguments(key, digest), { request: { path: 'ethereum-1', payload_v2: { Ecdsa: Buffer.from(digest).toString('hex') }, domain_id: 0 } });
    assert.deepEqual(signCallArguments({ ...key, curve: 'ed25519' }, Uint8Array.of(1, 2)).request.payload_v2, { Eddsa: '0102' });
    // Test double for the NEAR network, unreachable from here: it answers like the contract would
    // (here: from the emulator's keys, so the roots below are the emulator's).
    const calls: unknown[] = [];
    const contract: SignCall = (call) => {
      calls.push(call);
      return Promise.resolve(emulator.sign({ predecessor: call.predecessor, path: call.args.request.path, payload: digest, curve: 'secp256k1' }));
    };
    const roots = { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') };
    const signer = new ChainSignaturesSigner({ contractId: 'v1.signer-prod.testnet', roots, call: contract });
    const signature = await signer.sign(key, digest);
    assert.equal(signature.curve, 'secp256k1');
    assert.equal((calls[0] as { contractId: string }).contractId, 'v1.signer-prod.testnet');
    // A response signed by some other key is refused, not passed on.
    const wrongKey = new ChainSignaturesSigner({ contractId: 'x', roots: { ...roots, secp256k1: rootKeys.testnet.secp256k1 }, call: contract });
    await assert.rejects(wrongKey.sign(key, digest), (error: Error) => error instanceof SignerError && /does not recover/.test(error.message));
    const down = new ChainSignaturesSigner({ contractId: 'x', roots, call: () => Promise.reject(new Error('ECONNREFUSED secret=abc')) });
    await assert.rejects(down.sign(key, digest), (error: Error) => error instanceof SignerError && !error.message.includes('secret'));
  });
});
