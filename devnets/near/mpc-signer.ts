// The MPC signer contract with `v1.signer-prod.testnet` semantics (research/near-chain-signatures.md
// §1.4, §4): `sign` with payload_v2 and domain_id (or the legacy payload / key_version), 1 yoctoNEAR
// at least (the excess goes back), the key derived for (predecessor, path) with the MPC network's
// tweak, and the response JSON the real contract returns. The signing is signer/'s emulator, with
// devnet roots, so the signature verifies against what `derived_public_key` reports.
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, bytesToNumberLE } from '@noble/curves/utils.js';
import { ChainSignaturesEmulator, DerivationError, SignerError, derivePublicKey, formatNajKey, type Curve } from '../../signer/index.ts';
import { ContractPanic, objectArgs, teraGas, type ContractContext, type DevnetContract } from './contracts.ts';

/** SIGN_DEPOSIT_YOCTONEAR in near/mpc. */
export const signDepositYocto = 1n;
/** The contract's default gas requirement for a sign call. */
export const signGasMinimum = 15n * teraGas;
const domainCurves: Record<number, Curve> = { 0: 'secp256k1', 1: 'ed25519' };
const schemeOfCurve: Record<Curve, 'Ecdsa' | 'Eddsa'> = { secp256k1: 'Ecdsa', ed25519: 'Eddsa' };
const eddsaPayloadBytesMax = 1232;

/** Fresh root secrets for one devnet run. */
export function randomMpcRoots(): Record<Curve, bigint> {
  const secp = bytesToNumberBE(secp256k1.utils.randomSecretKey());
  const ed = bytesToNumberLE(randomBytes(64)) % ed25519.Point.Fn.ORDER;
  return { secp256k1: secp, ed25519: ed === 0n ? 1n : ed };
}

function domainCurve(value: unknown): Curve {
  const domainId = value ?? 0;
  const curve = typeof domainId === 'number' ? domainCurves[domainId] : undefined;
  if (!curve) throw new ContractPanic(`Domain ${JSON.stringify(domainId)} does not exist`);
  return curve;
}

function parsePayload(request: Record<string, unknown>, curve: Curve): Uint8Array {
  const hasV2 = request.payload_v2 !== undefined;
  const hasLegacy = request.payload !== undefined;
  if (hasV2 === hasLegacy) throw new ContractPanic('Exactly one of payload and payload_v2 must be given');
  if (hasLegacy) {
    const legacy = request.payload;
    if (curve !== 'secp256k1' || !Array.isArray(legacy) || legacy.length !== 32 || !legacy.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) {
      throw new ContractPanic('The legacy payload is an array of 32 bytes, for ECDSA only');
    }
    return Uint8Array.from(legacy as number[]);
  }
  const entries = Object.entries(objectArgs(request.payload_v2));
  const [scheme, hex] = entries[0] ?? [];
  if (entries.length !== 1 || scheme !== schemeOfCurve[curve]) throw new ContractPanic(`Payload scheme does not match the domain: expected ${schemeOfCurve[curve]}`);
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new ContractPanic('The payload is not hex');
  const payload = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (curve === 'secp256k1') {
    if (payload.length !== 32) throw new ContractPanic('Ecdsa payload must be 32 bytes');
    if (bytesToNumberBE(payload) >= secp256k1.Point.Fn.ORDER) throw new ContractPanic('Ecdsa payload cannot be converted to Scalar');
  } else if (payload.length < 32 || payload.length > eddsaPayloadBytesMax) {
    throw new ContractPanic(`Eddsa payload must be 32 to ${eddsaPayloadBytesMax} bytes`);
  }
  return payload;
}

function sign(emulator: ChainSignaturesEmulator, args: unknown, context: ContractContext): unknown {
  if (context.attachedDeposit < signDepositYocto) {
    throw new ContractPanic(`Attached deposit is lower than required. Attached: ${context.attachedDeposit}, Required: ${signDepositYocto}.`);
  }
  if (context.prepaidGas < signGasMinimum) throw new ContractPanic(`Insufficient gas attached: at least ${signGasMinimum} is required`);
  const request = objectArgs(objectArgs(args).request);
  if (request.domain_id !== undefined && request.key_version !== undefined) throw new ContractPanic('Exactly one of domain_id and key_version must be given');
  const curve = domainCurve(request.domain_id ?? request.key_version);
  const path = request.path;
  if (typeof path !== 'string') throw new ContractPanic('The request has no path');
  const payload = parsePayload(request, curve);
  try {
    const response = emulator.sign({ predecessor: context.predecessorId, path, payload, curve });
    if (context.attachedDeposit > signDepositYocto) context.transfer(context.predecessorId, context.attachedDeposit - signDepositYocto);
    return response;
  } catch (error) {
    // A tweak at or above the curve order is the one derivation the contract refuses.
    if (error instanceof DerivationError || error instanceof SignerError) throw new ContractPanic(error.message);
    throw error;
  }
}

/** The contract, and its root public keys (NAJ) for whoever must verify what it signs. */
export function mpcSigner(roots: Record<Curve, bigint>): { contract: DevnetContract; rootKeys: Record<Curve, string> } {
  const emulator = new ChainSignaturesEmulator(roots);
  const rootKeys = { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') };
  const contract: DevnetContract = {
    name: 'mpc-signer',
    codeBytes: 1_000_000,
    methods: {
      sign: { gasBurnt: 7n * teraGas, run: (args, context) => sign(emulator, args, context) },
      public_key: {
        gasBurnt: teraGas,
        view: true,
        run: (args) => emulator.rootKey(domainCurve(args === null || typeof args !== 'object' ? undefined : (args as Record<string, unknown>).domain_id)),
      },
      derived_public_key: {
        gasBurnt: 2n * teraGas,
        view: true,
        run: (args, context) => {
          const input = objectArgs(args);
          const curve = domainCurve(input.domain_id);
          const predecessor = input.predecessor ?? context.predecessorId;
          if (typeof input.path !== 'string' || typeof predecessor !== 'string') throw new ContractPanic('derived_public_key takes a path and a predecessor');
          try {
            return formatNajKey(curve, derivePublicKey({ root: emulator.rootKey(curve), predecessor, path: input.path }).publicKey);
          } catch (error) {
            if (error instanceof DerivationError) throw new ContractPanic(error.message);
            throw error;
          }
        },
      },
    },
  };
  return { contract, rootKeys };
}
