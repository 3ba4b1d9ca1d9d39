// Round trips through each chain's own library: a transaction signed by the emulator through a
// derived key must verify as coming from the derived address, low-s everywhere.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  AccountRole,
  address as solanaAddress,
  appendTransactionMessageInstruction,
  assertIsFullySignedTransaction,
  compileTransaction,
  createTransactionMessage,
  getBase58Decoder,
  getPublicKeyFromAddress,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  verifySignature,
  type Blockhash,
  type SignatureBytes,
} from '@solana/kit';
import * as bitcoin from 'bitcoinjs-lib';
import { keccak256, parseEther, recoverTransactionAddress, serializeTransaction, type TransactionSerializableEIP1559 } from 'viem';
import { ChainSignaturesEmulator, EmulatorSigner, bitcoinP2wpkhAddress, compressSecp256k1, derivePublicKey, ethereumAddress, solanaAddress as solanaAddressOf, toCompact, toEthereumSignature } from './index.ts';

const emulator = new ChainSignaturesEmulator({ secp256k1: BigInt(`0x${randomBytes(31).toString('hex')}`), ed25519: BigInt(`0x${randomBytes(31).toString('hex')}`) });
const signer = new EmulatorSigner(emulator);
const predecessor = 'user42.coffer.testnet';

describe('signatures verify on each chain', () => {
  test('Ethereum: an EIP-1559 transaction recovers to the derived address (viem)', async () => {
    const address = ethereumAddress(derivePublicKey({ root: emulator.rootKey('secp256k1'), predecessor, path: 'ethereum-1' }).publicKey);
    for (let nonce = 0; nonce < 5; nonce += 1) {
      const transaction: TransactionSerializableEIP1559 = {
        type: 'eip1559',
        chainId: 31_337,
        nonce,
        to: '0x000000000000000000000000000000000000dEaD',
        value: parseEther('0.01'),
        gas: 21_000n,
        maxFeePerGas: 2_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      };
      const digest = keccak256(serializeTransaction(transaction), 'bytes');
      const signature = await signer.sign({ predecessor, path: 'ethereum-1', curve: 'secp256k1' }, digest);
      assert.ok(signature.curve === 'secp256k1');
      assert.ok(signature.s <= secp256k1.Point.Fn.ORDER / 2n, 'low-s');
      const signed = serializeTransaction(transaction, toEthereumSignature(signature));
      assert.equal(await recoverTransactionAddress({ serializedTransaction: signed }), address);
    }
  });

  test('Bitcoin: a P2WPKH spend from the derived address validates (bitcoinjs-lib)', async () => {
    const key = { predecessor, path: 'bitcoin-1', curve: 'secp256k1' as const };
    const address = bitcoinP2wpkhAddress(derivePublicKey({ root: emulator.rootKey('secp256k1'), predecessor, path: 'bitcoin-1' }).publicKey, 'regtest');
    const publicKey = compressSecp256k1(signer.publicKey(key));
    const network = bitcoin.networks.regtest;
    const payment = bitcoin.payments.p2wpkh({ pubkey: publicKey, network });
    assert.equal(payment.address, address);
    const psbt = new bitcoin.Psbt({ network });
    psbt.addInput({ hash: randomBytes(32).toString('hex'), index: 0, witnessUtxo: { script: payment.output!, value: 100_000n } });
    psbt.addOutput({ address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', value: 90_000n });
    await psbt.signInputAsync(0, {
      publicKey,
      async sign(hash: Uint8Array) {
        const signature = await signer.sign(key, hash);
        assert.ok(signature.curve === 'secp256k1' && signature.s <= secp256k1.Point.Fn.ORDER / 2n, 'low-s');
        return toCompact(signature);
      },
    });
    const valid = psbt.validateSignaturesOfInput(0, (pubkey, hash, signature) => secp256k1.verify(signature, hash, pubkey, { prehash: false, lowS: true }));
    assert.equal(valid, true);
    psbt.finalizeAllInputs();
    const witness = psbt.extractTransaction().ins[0]!.witness;
    assert.equal(witness.length, 2);
    assert.deepEqual(witness[1], publicKey);
    assert.equal(witness[0]!.at(-1), 0x01, 'SIGHASH_ALL');
  });

  test('Solana: a transfer signed by the derived key verifies (@solana/kit)', async () => {
    const key = { predecessor, path: 'solana-1', curve: 'ed25519' as const };
    const from = solanaAddress(solanaAddressOf(derivePublicKey({ root: emulator.rootKey('ed25519'), predecessor, path: 'solana-1' }).publicKey));
    const to = solanaAddress('11111111111111111111111111111112');
    // System program transfer: instruction 2, then lamports as a little-endian u64.
    const data = new Uint8Array(12);
    new DataView(data.buffer).setUint32(0, 2, true);
    new DataView(data.buffer).setBigUint64(4, 1_000_000n, true);
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayer(from, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: getBase58Decoder().decode(randomBytes(32)) as Blockhash, lastValidBlockHeight: 100n }, m),
      (m) =>
        appendTransactionMessageInstruction(
          { programAddress: solanaAddress('11111111111111111111111111111111'), accounts: [{ address: from, role: AccountRole.WRITABLE_SIGNER }, { address: to, role: AccountRole.WRITABLE }], data },
          m,
        ),
    );
    const unsigned = compileTransaction(message);
    const signature = await signer.sign(key, new Uint8Array(unsigned.messageBytes));
    assert.ok(signature.curve === 'ed25519');
    const signed = { ...unsigned, signatures: { ...unsigned.signatures, [from]: signature.signature as SignatureBytes } };
    assertIsFullySignedTransaction(signed);
    assert.equal(await verifySignature(await getPublicKeyFromAddress(from), signature.signature as SignatureBytes, signed.messageBytes), true);
    assert.ok(getTransactionEncoder().encode(signed).length > 64);
  });
});
