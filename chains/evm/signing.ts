// An EVM transaction signed by any of coffer's keys: the digest of its unsigned serialization
// is signed with the secp256k1 key, and the signed serialization comes back with its hash.
// Derived keys sign through a Signer (emulator / chain signatures); operational keys (relayers,
// the treasury hot wallet) sign with their keystore key.
import { keccak256, serializeTransaction, type Hex, type TransactionSerializable } from 'viem';
import { SignerError, toEthereumSignature, type KeyReference, type OperationalKey, type Signature, type Signer } from '../../signer/index.ts';

export function sealEvmTransaction(tx: TransactionSerializable, signature: Signature): { raw: Hex; hash: Hex } {
  if (signature.curve !== 'secp256k1') throw new SignerError('wrong_curve', 'the signer returned a non-ECDSA signature for an EVM transaction');
  const { r, s, yParity } = toEthereumSignature(signature);
  // Typed transactions read yParity; a legacy one reads v (27/28, which viem turns into EIP-155's
  // chainId·2+35+yParity) and without it fails to serialize at all.
  const raw = serializeTransaction(tx, { r, s, yParity, v: BigInt(27 + yParity) });
  return { raw, hash: keccak256(raw) };
}

export const evmSigningDigest = (tx: TransactionSerializable): Uint8Array => Buffer.from(keccak256(serializeTransaction(tx)).slice(2), 'hex');

export async function signEvmTransaction(signer: Signer, key: Omit<KeyReference, 'curve'>, tx: TransactionSerializable): Promise<{ raw: Hex; hash: Hex }> {
  return sealEvmTransaction(tx, await signer.sign({ ...key, curve: 'secp256k1' }, evmSigningDigest(tx)));
}

export function signEvmTransactionWithKey(key: Pick<OperationalKey, 'signDigest'>, tx: TransactionSerializable): { raw: Hex; hash: Hex } {
  return sealEvmTransaction(tx, key.signDigest(evmSigningDigest(tx)));
}
