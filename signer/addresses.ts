// Addresses from derived public keys (research §3). Pure functions of the key: the same key
// gives the bc1, tb1 and bcrt1 forms, so the Bitcoin network is chosen independently of NEAR's.
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { base58, bech32 } from '@scure/base';

export type BitcoinNetwork = 'mainnet' | 'testnet' | 'regtest';
export const bitcoinHrp: Record<BitcoinNetwork, string> = { mainnet: 'bc', testnet: 'tb', regtest: 'bcrt' };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** EIP-55 checksummed: the last 20 bytes of keccak256(x‖y). */
export function ethereumAddress(uncompressedPublicKey: Uint8Array): string {
  if (uncompressedPublicKey.length !== 65 || uncompressedPublicKey[0] !== 4) throw new Error('expected a 65-byte uncompressed secp256k1 key');
  const lower = hex(keccak_256(uncompressedPublicKey.slice(1)).slice(-20));
  const hashed = hex(keccak_256(new TextEncoder().encode(lower)));
  let checksummed = '';
  for (let i = 0; i < lower.length; i += 1) {
    checksummed += parseInt(hashed[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  }
  return `0x${checksummed}`;
}

export function compressSecp256k1(uncompressedPublicKey: Uint8Array): Uint8Array {
  return secp256k1.Point.fromBytes(uncompressedPublicKey).toBytes(true);
}

/** P2WPKH (witness v0, bech32): hash160 of the compressed key. */
export function bitcoinP2wpkhAddress(uncompressedPublicKey: Uint8Array, network: BitcoinNetwork): string {
  const sha = createHash('sha256').update(compressSecp256k1(uncompressedPublicKey)).digest();
  const hash160 = ripemd160(new Uint8Array(sha));
  return bech32.encode(bitcoinHrp[network], [0, ...bech32.toWords(hash160)]);
}

/** A Solana address is the base58 of the 32-byte ed25519 key itself. */
export function solanaAddress(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new Error('expected a 32-byte ed25519 key');
  return base58.encode(publicKey);
}
