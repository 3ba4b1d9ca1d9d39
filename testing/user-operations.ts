// ERC-4337 test material for the sponsor service's tests and bench: a user operation as a
// bundler sends it to pm_getPaymasterData (EntryPoint v0.7 fields, gas any test policy allows),
// and a paymaster signer whose key lives only in memory.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { numberToHex, type Hex } from 'viem';
import { evmOperationalKey, type EvmOperationalKey } from '../chains/index.ts';
import { OperationalKey } from '../signer/index.ts';

export const unsignedUserOperation = (sender: string, nonce: number, callData: Hex = '0x') => ({
  sender,
  nonce: numberToHex(nonce),
  callData,
  callGasLimit: '0x5000',
  verificationGasLimit: '0x10000',
  preVerificationGas: '0xc000',
  maxFeePerGas: '0x3b9aca00',
  maxPriorityFeePerGas: '0x1',
  signature: '0x',
});

/** A secp256k1 signer with a fresh random key that is never written anywhere. */
export function inMemorySigner(name: string): EvmOperationalKey {
  const secret = secp256k1.utils.randomSecretKey();
  return evmOperationalKey(new OperationalKey({ name, curve: 'secp256k1', publicKey: secp256k1.getPublicKey(secret, true), secretScalar: bytesToNumberBE(secret) }));
}
