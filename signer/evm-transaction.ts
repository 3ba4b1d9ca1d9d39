// An EIP-1559 transaction signed through any Signer: the digest of its unsigned serialization
// is signed with the secp256k1 key, and the signed serialization comes back with its hash.
import { keccak256, serializeTransaction, type Hex, type TransactionSerializableEIP1559 } from 'viem';
import { SignerError, toEthereumSignature } from './signature.ts';
import type { KeyReference, Signer } from './signer.ts';

export async function signEvmTransaction(signer: Signer, key: Omit<KeyReference, 'curve'>, tx: TransactionSerializableEIP1559): Promise<{ raw: Hex; hash: Hex }> {
  const digest = keccak256(serializeTransaction(tx));
  const signature = await signer.sign({ ...key, curve: 'secp256k1' }, Buffer.from(digest.slice(2), 'hex'));
  if (signature.curve !== 'secp256k1') throw new SignerError('the signer returned a non-ECDSA signature for an EVM transaction');
  const raw = serializeTransaction(tx, toEthereumSignature(signature));
  return { raw, hash: keccak256(raw) };
}
