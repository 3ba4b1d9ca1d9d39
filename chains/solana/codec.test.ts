// The Solana address codec (pure) and the keystore's ed25519 fee-payer signatures, which must
// verify as standard Ed25519 (Solana's runtime checks them so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Keystore } from '../../signer/index.ts';
import { InvalidAddressError } from '../types.ts';
import { solanaAddressCodec } from './codec.ts';

const usdc = 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v';

test('addresses: 32 bytes in base58, one spelling; Solana Pay URIs', () => {
  assert.equal(solanaAddressCodec.fromPublicKey(new Uint8Array(32)), '11111111111111111111111111111111');
  assert.equal(solanaAddressCodec.canonical(usdc), usdc);
  assert.equal(solanaAddressCodec.isValid('0x' + 'ab'.repeat(20)), false);
  assert.equal(solanaAddressCodec.isValid('1111111111111111111111111111111'), false, '31 bytes');
  assert.throws(() => solanaAddressCodec.canonical('not-an-address'), InvalidAddressError);
  assert.equal(solanaAddressCodec.paymentUri({ address: usdc }), `solana:${usdc}`);
  assert.equal(solanaAddressCodec.paymentUri({ address: usdc, amount: 1_500_000_000n }), `solana:${usdc}?amount=1.5`);
  assert.equal(solanaAddressCodec.paymentUri({ address: usdc, amount: 25_000_000n, asset: { code: 'USDC', scale: 6, contract: usdc } }), `solana:${usdc}?amount=25&spl-token=${usdc}`);
});

test('the keystore signs ed25519 message bytes that verify against its public key', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'coffer-ed25519-'));
  try {
    const keystore = new Keystore({ directory, passphrase: 'ed25519-test-passphrase', kdf: { m: 256, t: 1, p: 1 } });
    const { publicKey } = await keystore.create('fee-payer', 'ed25519');
    const signer = await keystore.ed25519Signer('fee-payer');
    assert.deepEqual(signer.publicKey, publicKey);
    const message = new TextEncoder().encode('a Solana message');
    const signature = signer.sign(message);
    assert.ok(ed25519.verify(signature, message, publicKey, { zip215: false }));
    assert.deepEqual(signer.sign(message), signature, 'deterministic');
    await keystore.create('relayer', 'secp256k1');
    await assert.rejects(keystore.ed25519Signer('relayer'), /not an ed25519 key/);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
