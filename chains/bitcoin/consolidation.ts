// P2WPKH consolidation transactions, split in three steps so that no key ever comes near this
// module: plan (choose inputs, outputs and fee), digests (one BIP143 sighash per input, for the
// `Signer` to sign), and assembly (witnesses from the signatures, checked before they leave).
//
// Why these rules:
// - Consolidation is how exchanges keep fees down: many deposit UTXOs, one output to the
//   treasury. The input count is bounded (`consolidationInputsMax`) so a transaction stays far
//   below the 100 kvB standardness limit and a signing round stays short; the rest waits.
// - Fees come from an upper-bound size estimate: low-s DER signatures are 71 or 72 bytes with
//   the sighash byte (72 when r's top bit is set, about half the time, since an MPC signer does
//   not grind low-R), so each input is counted at 68 vB and the fee never falls short of the
//   rate. Assembly asserts the real size is within the estimate.
// - A UTXO worth no more than the fee its input costs is uneconomic: spending it loses money.
//   It is reported, not spent, and stays in custody.
// - 294 sat is the P2WPKH dust threshold of Bitcoin Core's relay policy (3 sat/vB × 98 bytes).
//   Regtest nodes do not enforce it, so coffer does.
// - nSequence 0xfffffffd signals BIP125 replaceability on every input, so a stuck sweep can be
//   re-signed at a higher fee (Core ≥ 28 also replaces without the signal; older nodes do not).
import { CodedError } from '../../infra/index.ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction } from 'bitcoinjs-lib';
import { hash160 } from './address.ts';

export const consolidationInputsMax = 250;
export const p2wpkhDustLimitSat = 294n;
export const rbfSequence = 0xfffffffd;
const transactionVersion = 2;
const sighashAll = Transaction.SIGHASH_ALL;
/** 41 bytes outside the witness (outpoint 36, empty scriptSig 1, sequence 4) plus 108 witness bytes (count 1, 1 + 72 signature, 1 + 33 key): 272 WU. */
const p2wpkhInputVbytes = 68;
const halfOrder = secp256k1.Point.Fn.ORDER >> 1n;

const transactionErrorCodes = [
  // The caller's inputs are malformed (limits, outpoints, keys): a bug to fix, never a reason to skip.
  'invalid_bitcoin_transaction',
  // Nothing here is worth spending at this fee rate (no UTXO above its input fee, or a dust output): wait for a lower rate.
  'uneconomic',
  // The inputs do not cover the payment and its fee.
  'insufficient_inputs',
  // The signatures do not complete the transaction (count, encoding, high-s, wrong key).
  'invalid_bitcoin_signature',
  // Signed, the transaction outgrew the size its fee was paid for.
  'vsize_above_estimate',
] as const;

export class BitcoinTransactionError extends CodedError<(typeof transactionErrorCodes)[number]> {
  static readonly codes = transactionErrorCodes;
  override name = 'BitcoinTransactionError';
}

export interface P2wpkhUtxo {
  txid: string;
  vout: number;
  valueSat: bigint;
  /** The compressed key whose P2WPKH script holds this output; it also goes into the witness. */
  publicKey: Uint8Array;
}

export interface TransactionOutput {
  script: Uint8Array;
  valueSat: bigint;
}

export interface UneconomicUtxo {
  utxo: P2wpkhUtxo;
  /** What its input would cost at the plan's fee rate; at least its value. */
  inputFeeSat: bigint;
}

export interface ConsolidationPlan {
  /** In transaction order; digest i and signature i belong to inputs[i]. */
  inputs: P2wpkhUtxo[];
  outputs: TransactionOutput[];
  feeSat: bigint;
  feeRateSatKvb: bigint;
  /** Upper bound of the signed transaction's virtual size. */
  vsizeEstimate: number;
  /** Worth less than they cost to spend: left out, kept in custody. */
  uneconomic: UneconomicUtxo[];
  /** Economic but beyond `inputsMax`: for the next transaction. */
  deferred: P2wpkhUtxo[];
  unsignedHex: string;
}

const compactSizeBytes = (n: number) => (n < 0xfd ? 1 : n <= 0xffff ? 3 : 5);

/** Upper bound of the virtual size of a transaction spending `inputCount` P2WPKH inputs to `outputScripts`. */
export function estimateP2wpkhVsize(inputCount: number, outputScripts: Uint8Array[]): number {
  const outputsBytes = outputScripts.reduce((sum, script) => sum + 8 + compactSizeBytes(script.length) + script.length, 0);
  const baseBytes = 4 + compactSizeBytes(inputCount) + 41 * inputCount + compactSizeBytes(outputScripts.length) + outputsBytes + 4;
  // Segwit marker and flag (2 WU) plus each input's 108 witness bytes (1 WU each).
  const weight = baseBytes * 4 + 2 + 108 * inputCount;
  return Math.ceil(weight / 4);
}

/** ceil(vsize × rate / 1000): the fee never rounds below the rate. */
export function feeForVsize(vsize: number, feeRateSatKvb: bigint): bigint {
  return (BigInt(vsize) * feeRateSatKvb + 999n) / 1000n;
}

/** The fee one more P2WPKH input adds: what a UTXO must be worth to be worth spending. */
export function p2wpkhInputFeeSat(feeRateSatKvb: bigint): bigint {
  return feeForVsize(p2wpkhInputVbytes, feeRateSatKvb);
}

function outpointKey(utxo: { txid: string; vout: number }): string {
  return `${utxo.txid}:${utxo.vout}`;
}

/**
 * Plans a consolidation: every economic UTXO (up to `inputsMax`, in the order given) into
 * `sweepToScript`, less the fee; or, with `payment`, that exact amount to its script and the
 * rest to `sweepToScript` as change (change below dust is left to the miner).
 */
export function planConsolidation(params: {
  utxos: P2wpkhUtxo[];
  sweepToScript: Uint8Array;
  payment?: TransactionOutput;
  feeRateSatKvb: bigint;
  inputsMax?: number;
}): ConsolidationPlan {
  const inputsMax = params.inputsMax ?? consolidationInputsMax;
  if (!Number.isInteger(inputsMax) || inputsMax < 1 || inputsMax > consolidationInputsMax) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `inputsMax must be 1 to ${consolidationInputsMax}`);
  if (params.feeRateSatKvb < 1n) throw new BitcoinTransactionError('invalid_bitcoin_transaction', 'the fee rate must be at least 1 sat/kvB');
  if (params.payment && params.payment.valueSat < p2wpkhDustLimitSat) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `a payment of ${params.payment.valueSat} sat is below the ${p2wpkhDustLimitSat}-sat dust limit`);
  const seen = new Set<string>();
  for (const utxo of params.utxos) {
    const key = outpointKey(utxo);
    if (seen.has(key)) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `UTXO ${key} is listed twice`);
    seen.add(key);
    if (!/^[0-9a-f]{64}$/.test(utxo.txid) || !Number.isInteger(utxo.vout) || utxo.vout < 0) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `UTXO ${key} has a malformed outpoint`);
    if (utxo.valueSat <= 0n) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `UTXO ${key} has no value`);
  }

  const inputFeeSat = p2wpkhInputFeeSat(params.feeRateSatKvb);
  const uneconomic: UneconomicUtxo[] = [];
  const economic: P2wpkhUtxo[] = [];
  for (const utxo of params.utxos) {
    if (utxo.valueSat <= inputFeeSat) uneconomic.push({ utxo, inputFeeSat });
    else economic.push(utxo);
  }
  const inputs = economic.slice(0, inputsMax);
  const deferred = economic.slice(inputsMax);
  if (inputs.length === 0) throw new BitcoinTransactionError('uneconomic', 'no UTXO is worth spending at this fee rate');
  const totalSat = inputs.reduce((sum, utxo) => sum + utxo.valueSat, 0n);

  let outputs: TransactionOutput[];
  let vsizeEstimate: number;
  if (params.payment) {
    const withChange = estimateP2wpkhVsize(inputs.length, [params.payment.script, params.sweepToScript]);
    const changeSat = totalSat - params.payment.valueSat - feeForVsize(withChange, params.feeRateSatKvb);
    if (changeSat >= p2wpkhDustLimitSat) {
      outputs = [params.payment, { script: params.sweepToScript, valueSat: changeSat }];
      vsizeEstimate = withChange;
    } else {
      outputs = [params.payment];
      vsizeEstimate = estimateP2wpkhVsize(inputs.length, [params.payment.script]);
      if (totalSat - params.payment.valueSat < feeForVsize(vsizeEstimate, params.feeRateSatKvb)) {
        throw new BitcoinTransactionError('insufficient_inputs', `the inputs (${totalSat} sat) do not cover the payment and its fee`);
      }
    }
  } else {
    vsizeEstimate = estimateP2wpkhVsize(inputs.length, [params.sweepToScript]);
    const sweptSat = totalSat - feeForVsize(vsizeEstimate, params.feeRateSatKvb);
    if (sweptSat < p2wpkhDustLimitSat) throw new BitcoinTransactionError('uneconomic', `the swept output would be ${sweptSat} sat, below the ${p2wpkhDustLimitSat}-sat dust limit`);
    outputs = [{ script: params.sweepToScript, valueSat: sweptSat }];
  }

  const transaction = new Transaction();
  transaction.version = transactionVersion;
  for (const utxo of inputs) {
    if (utxo.publicKey.length !== 33) throw new BitcoinTransactionError('invalid_bitcoin_transaction', `UTXO ${outpointKey(utxo)}: a P2WPKH key is 33 bytes, compressed`);
    transaction.addInput(Buffer.from(utxo.txid, 'hex').reverse(), utxo.vout, rbfSequence);
  }
  for (const output of outputs) transaction.addOutput(output.script, output.valueSat);
  const outputsSat = outputs.reduce((sum, output) => sum + output.valueSat, 0n);
  return {
    inputs,
    outputs,
    feeSat: totalSat - outputsSat,
    feeRateSatKvb: params.feeRateSatKvb,
    vsizeEstimate,
    uneconomic,
    deferred,
    unsignedHex: transaction.toHex(),
  };
}

/** BIP143 digest of a P2WPKH input with SIGHASH_ALL: the scriptCode is the P2PKH script of the key hash, and the spent amount is committed. */
export function bip143Digest(params: { transaction: Transaction; inputIndex: number; keyHash: Uint8Array; valueSat: bigint }): Uint8Array {
  if (params.keyHash.length !== 20) throw new BitcoinTransactionError('invalid_bitcoin_transaction', 'a P2WPKH key hash is 20 bytes');
  const scriptCode = Uint8Array.of(0x76, 0xa9, 0x14, ...params.keyHash, 0x88, 0xac);
  return params.transaction.hashForWitnessV0(params.inputIndex, scriptCode, params.valueSat, sighashAll);
}

export interface InputDigest {
  inputIndex: number;
  /** The key that must sign; the signer derives it from its key reference and should check it matches. */
  publicKey: Uint8Array;
  /** 32 bytes, signed as is (no further hashing). */
  digest: Uint8Array;
}

/** One digest per input, in input order. */
export function consolidationDigests(plan: ConsolidationPlan): InputDigest[] {
  const transaction = Transaction.fromHex(plan.unsignedHex);
  return plan.inputs.map((utxo, inputIndex) => ({
    inputIndex,
    publicKey: utxo.publicKey,
    digest: bip143Digest({ transaction, inputIndex, keyHash: hash160(utxo.publicKey), valueSat: utxo.valueSat }),
  }));
}

function readSignature(signature: Uint8Array, inputIndex: number): InstanceType<typeof secp256k1.Signature> {
  try {
    return signature.length === 64 ? secp256k1.Signature.fromBytes(signature, 'compact') : secp256k1.Signature.fromBytes(signature, 'der');
  } catch {
    throw new BitcoinTransactionError('invalid_bitcoin_signature', `signature ${inputIndex} is neither 64 bytes r‖s nor DER`);
  }
}

export interface SignedTransaction {
  hex: string;
  txid: string;
  wtxid: string;
  vsize: number;
  feeSat: bigint;
}

/**
 * Puts `[DER(r,s)‖SIGHASH_ALL, publicKey]` into each input's witness. Every signature is
 * verified against its digest and key first, and must be low-s (relay policy rejects high-s):
 * a wrong signature is a bug upstream and must not reach the network as a rejected broadcast.
 */
export function assembleConsolidation(params: { plan: ConsolidationPlan; signatures: Uint8Array[] }): SignedTransaction {
  const { plan, signatures } = params;
  if (signatures.length !== plan.inputs.length) throw new BitcoinTransactionError('invalid_bitcoin_signature', `${plan.inputs.length} inputs need ${plan.inputs.length} signatures, got ${signatures.length}`);
  const transaction = Transaction.fromHex(plan.unsignedHex);
  for (const { inputIndex, publicKey, digest } of consolidationDigests(plan)) {
    const signature = readSignature(signatures[inputIndex]!, inputIndex);
    if (signature.s > halfOrder) throw new BitcoinTransactionError('invalid_bitcoin_signature', `signature ${inputIndex} is not low-s`);
    if (!secp256k1.verify(signature.toBytes('compact'), digest, publicKey, { prehash: false, lowS: true })) {
      throw new BitcoinTransactionError('invalid_bitcoin_signature', `signature ${inputIndex} does not verify against its digest and public key`);
    }
    transaction.setWitness(inputIndex, [Uint8Array.of(...signature.toBytes('der'), sighashAll), publicKey]);
  }
  const vsize = transaction.virtualSize();
  if (vsize > plan.vsizeEstimate) throw new BitcoinTransactionError('vsize_above_estimate', `the signed transaction is ${vsize} vB, above the ${plan.vsizeEstimate}-vB estimate its fee was paid for`);
  return {
    hex: transaction.toHex(),
    txid: transaction.getId(),
    wtxid: Buffer.from(transaction.getHash(true)).reverse().toString('hex'),
    vsize,
    feeSat: plan.feeSat,
  };
}

