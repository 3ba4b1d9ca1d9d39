// Addresses are a display format; the scriptPubKey is the truth. The same P2WPKH script is
// `bcrt1…` on Bitcoin Core's regtest and `rb1…` on bcoin's (bcoin 1.0.2 kept its own regtest
// prefixes), so the indexer matches outputs by script and only the edges (the API, a BIP21
// QR code, an operator's treasury setting) turn scripts into addresses and back.
//
// Decoding is done here with @scure/base rather than bitcoinjs-lib's toOutputScript: the
// latter needs an ECC library for Taproot addresses and writes a console warning for future
// witness versions, and a treasury address may well be Taproot.
import { CodedError } from '../../infra/index.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32, bech32m, createBase58check } from '@scure/base';

export const bitcoinNetworks = {
  mainnet: { hrp: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80 },
  testnet: { hrp: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
  /** Bitcoin Core's regtest. */
  regtest: { hrp: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
  /** bcoin 1.0.2's regtest: same chain rules and genesis as Core's, its own address prefixes. */
  'bcoin-regtest': { hrp: 'rb', pubKeyHash: 0x3c, scriptHash: 0x26, wif: 0x5a },
} as const;

export type BitcoinNetwork = keyof typeof bitcoinNetworks;
export const bitcoinNetworkNames = Object.keys(bitcoinNetworks) as BitcoinNetwork[];

const addressErrorCodes = [
  // Not an address at all (checksum, length, witness version or program).
  'invalid_bitcoin_address',
  // A valid address or key of another network (mainnet vs testnet vs regtest).
  'wrong_bitcoin_network',
  // A key that makes no address: not a point, not 32 bytes, not a compressed WIF.
  'invalid_bitcoin_key',
] as const;

export class BitcoinAddressError extends CodedError<(typeof addressErrorCodes)[number]> {
  static readonly codes = addressErrorCodes;
  override name = 'BitcoinAddressError';
}

const base58check = createBase58check(sha256);
/** BIP173: a segwit address is at most 90 characters. */
const segwitAddressLengthMax = 90;
const opPushBytes20 = 0x14;
const op = { dup: 0x76, hash160: 0xa9, equal: 0x87, equalVerify: 0x88, checkSig: 0xac } as const;

export function hash160(bytes: Uint8Array): Uint8Array {
  return ripemd160(sha256(bytes));
}

/** `0014{hash160(key)}`. Only compressed keys: an uncompressed key in P2WPKH is unspendable under standard policy. */
export function p2wpkhScript(compressedPublicKey: Uint8Array): Uint8Array {
  if (compressedPublicKey.length !== 33) throw new BitcoinAddressError('invalid_bitcoin_key', 'P2WPKH needs a 33-byte compressed secp256k1 public key');
  try {
    secp256k1.Point.fromBytes(compressedPublicKey);
  } catch {
    throw new BitcoinAddressError('invalid_bitcoin_key', 'the public key is not a point on secp256k1');
  }
  return Uint8Array.of(0x00, opPushBytes20, ...hash160(compressedPublicKey));
}

export function p2wpkhAddress(params: { publicKey: Uint8Array; network: BitcoinNetwork }): string {
  const program = p2wpkhScript(params.publicKey).subarray(2);
  return bech32.encode(bitcoinNetworks[params.network].hrp, [0, ...bech32.toWords(program)]);
}

/** The 20-byte key hash of a P2WPKH script, or null for any other script. */
export function p2wpkhKeyHash(script: Uint8Array): Uint8Array | null {
  return script.length === 22 && script[0] === 0x00 && script[1] === opPushBytes20 ? script.subarray(2) : null;
}

function witnessScript(version: number, program: Uint8Array): Uint8Array {
  // OP_0 is 0x00; OP_1…OP_16 are 0x51…0x60.
  return Uint8Array.of(version === 0 ? 0x00 : 0x50 + version, program.length, ...program);
}

function decodeSegwit(address: string, hrp: string): Uint8Array {
  if (address.length > segwitAddressLengthMax) throw new BitcoinAddressError('invalid_bitcoin_address', 'a segwit address is at most 90 characters');
  // BIP350: version 0 uses bech32, versions 1–16 bech32m; the wrong checksum variant is invalid.
  const decoded = bech32.decodeUnsafe(address, segwitAddressLengthMax) ?? bech32m.decodeUnsafe(address, segwitAddressLengthMax);
  if (!decoded) throw new BitcoinAddressError('invalid_bitcoin_address', 'not a valid bech32/bech32m address');
  if (decoded.prefix !== hrp) throw new BitcoinAddressError('wrong_bitcoin_network', `the address is for prefix '${decoded.prefix}', expected '${hrp}'`);
  const [version, ...words] = decoded.words;
  if (version === undefined || version > 16) throw new BitcoinAddressError('invalid_bitcoin_address', 'invalid witness version');
  const isBech32m = bech32m.decodeUnsafe(address, segwitAddressLengthMax) !== undefined;
  if (isBech32m !== (version !== 0)) throw new BitcoinAddressError('invalid_bitcoin_address', `witness version ${version} must use ${version === 0 ? 'bech32' : 'bech32m'}`);
  const program = bech32.fromWordsUnsafe(words);
  if (!program) throw new BitcoinAddressError('invalid_bitcoin_address', 'invalid witness program padding');
  if (program.length < 2 || program.length > 40) throw new BitcoinAddressError('invalid_bitcoin_address', 'a witness program is 2 to 40 bytes');
  if (version === 0 && program.length !== 20 && program.length !== 32) throw new BitcoinAddressError('invalid_bitcoin_address', 'a version 0 witness program is 20 or 32 bytes');
  return witnessScript(version, program);
}

function decodeBase58(address: string, network: (typeof bitcoinNetworks)[BitcoinNetwork]): Uint8Array {
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch {
    throw new BitcoinAddressError('invalid_bitcoin_address', 'not a valid address');
  }
  if (payload.length !== 21) throw new BitcoinAddressError('invalid_bitcoin_address', 'a base58 address carries a version byte and a 20-byte hash');
  const hash = payload.subarray(1);
  if (payload[0] === network.pubKeyHash) return Uint8Array.of(op.dup, op.hash160, opPushBytes20, ...hash, op.equalVerify, op.checkSig);
  if (payload[0] === network.scriptHash) return Uint8Array.of(op.hash160, opPushBytes20, ...hash, op.equal);
  throw new BitcoinAddressError('wrong_bitcoin_network', 'the address belongs to another network');
}

/** The scriptPubKey an address stands for on `network`: P2PKH, P2SH, P2WPKH, P2WSH, P2TR or a future witness version. */
export function addressToScript(params: { address: string; network: BitcoinNetwork }): Uint8Array {
  const network = bitcoinNetworks[params.network];
  const separator = params.address.lastIndexOf('1');
  const looksSegwit = separator > 0 && params.address.slice(0, separator).toLowerCase() === network.hrp;
  return looksSegwit ? decodeSegwit(params.address, network.hrp) : decodeBase58(params.address, network);
}

const satoshisPerBitcoin = 100_000_000n;

/** Satoshis as a BTC decimal string without trailing zeros: 150000n → "0.0015". */
export function formatBtc(amountSat: bigint): string {
  if (amountSat < 0n) throw new RangeError('a BTC amount is not negative');
  const whole = amountSat / satoshisPerBitcoin;
  const fraction = (amountSat % satoshisPerBitcoin).toString().padStart(8, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole.toString();
}

/** BIP21 `bitcoin:` URI; the amount is in BTC, label and message percent-encoded. */
export function bip21Uri(params: { address: string; amountSat?: bigint; label?: string; message?: string }): string {
  const query: string[] = [];
  if (params.amountSat !== undefined) query.push(`amount=${formatBtc(params.amountSat)}`);
  if (params.label !== undefined) query.push(`label=${encodeURIComponent(params.label)}`);
  if (params.message !== undefined) query.push(`message=${encodeURIComponent(params.message)}`);
  return `bitcoin:${params.address}${query.length ? `?${query.join('&')}` : ''}`;
}

/** Wallet Import Format of a private key whose public key is used compressed (the only kind P2WPKH spends). */
export function encodeWif(params: { privateKey: Uint8Array; network: BitcoinNetwork }): string {
  if (params.privateKey.length !== 32) throw new BitcoinAddressError('invalid_bitcoin_key', 'a private key is 32 bytes');
  return base58check.encode(Uint8Array.of(bitcoinNetworks[params.network].wif, ...params.privateKey, 0x01));
}

/** Reads a compressed-key WIF of any of the networks; the version byte tells which ones it fits. */
export function decodeWif(wif: string): { privateKey: Uint8Array; networks: BitcoinNetwork[] } {
  let payload: Uint8Array;
  try {
    payload = base58check.decode(wif);
  } catch {
    throw new BitcoinAddressError('invalid_bitcoin_key', 'not a valid WIF');
  }
  if (payload.length !== 34 || payload[33] !== 0x01) throw new BitcoinAddressError('invalid_bitcoin_key', 'only WIFs of compressed keys are accepted');
  const networks = bitcoinNetworkNames.filter((name) => bitcoinNetworks[name].wif === payload[0]);
  if (networks.length === 0) throw new BitcoinAddressError('wrong_bitcoin_network', 'the WIF has an unknown version byte');
  return { privateKey: payload.slice(1, 33), networks };
}
