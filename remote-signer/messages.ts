// What a message signature signs: the digest, what the policy judges, and what the audit event
// records. eth_sign frames bytes as EIP-191 personal messages, eth_signTypedData_v4 hashes
// EIP-712 typed data, and Web3Signer's eth1 sign takes keccak256 of raw bytes — which may be an
// unsigned transaction, so those bytes are judged as the transaction when they decode as one.
import { hashMessage, hashTypedData, isHex, keccak256, toHex, type Hex, type TypedDataDefinition } from 'viem';
import { z } from 'zod';
import type { JsonObject } from '../ledger/index.ts';
import { RemoteSignerError } from './errors.ts';
import type { SigningFacts } from './policy.ts';
import { auditInputBytesMax, decodeSerializedTransaction, describeTransaction } from './transaction.ts';

export interface SigningRequest {
  digest: Hex;
  facts: SigningFacts;
  decoded: JsonObject;
}

/** Messages and typed data are bounded by the request body; this bounds what one signature covers. */
export const messageBytesMax = 128 * 1024;

const invalid = (message: string) => new RemoteSignerError('invalid_params', message);

function messageBytes(data: unknown): Hex {
  if (typeof data !== 'string') throw invalid('the message is a string: 0x-hex bytes, or text');
  // Web3Signer's rule: 0x-prefixed is hex bytes, anything else is UTF-8 text.
  const bytes = data.startsWith('0x') ? data : toHex(data);
  if (!isHex(bytes) || bytes.length % 2 !== 0) throw invalid('the message starts with 0x but is not hex bytes');
  if ((bytes.length - 2) / 2 > messageBytesMax) throw invalid(`the message is longer than ${messageBytesMax} bytes`);
  return bytes;
}

const recorded = (bytes: Hex): JsonObject => {
  const length = (bytes.length - 2) / 2;
  return length <= auditInputBytesMax ? { messageBytes: length, message: bytes } : { messageBytes: length, messageKeccak256: keccak256(bytes) };
};

/** eth_sign: keccak256("\x19Ethereum Signed Message:\n" + length + bytes). */
export function personalMessage(data: unknown): SigningRequest {
  const bytes = messageBytes(data);
  return { digest: hashMessage({ raw: bytes }), facts: { kind: 'personal' }, decoded: recorded(bytes) };
}

/** Web3Signer's POST /api/v1/eth1/sign/{identifier}: keccak256 of the bytes, judged as a transaction when they are one. */
export function rawMessage(data: unknown): SigningRequest {
  if (typeof data !== 'string' || !isHex(data) || data.length % 2 !== 0 || data.length < 4) throw invalid('data is 0x-hex bytes (at least one)');
  const bytes = messageBytes(data);
  const transaction = decodeSerializedTransaction(bytes);
  if (transaction) {
    const { facts, decoded } = describeTransaction(transaction);
    return { digest: keccak256(bytes), facts, decoded: { transaction: decoded } };
  }
  return { digest: keccak256(bytes), facts: { kind: 'raw' }, decoded: recorded(bytes) };
}

const typeField = z.strictObject({ name: z.string().min(1).max(100), type: z.string().min(1).max(100) });
const typedDataSchema = z.object({
  types: z.record(z.string().min(1).max(100), z.array(typeField).max(100)),
  primaryType: z.string().min(1).max(100),
  domain: z.record(z.string(), z.unknown()).default({}),
  message: z.record(z.string(), z.unknown()),
});

/** JSON gives integers as numbers or strings (decimal or hex); EIP-712 encoding wants bigints. */
function integersAsBigInt(types: Record<string, readonly { name: string; type: string }[]>, type: string, value: unknown): unknown {
  const array = /^(.+)\[(\d*)\]$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) throw invalid(`a ${type} value is an array`);
    return value.map((item) => integersAsBigInt(types, array[1]!, item));
  }
  const fields = types[type];
  if (fields) {
    if (value === null || typeof value !== 'object') throw invalid(`a ${type} value is an object`);
    const record = value as Record<string, unknown>;
    return Object.fromEntries(fields.map((field) => [field.name, integersAsBigInt(types, field.type, record[field.name])]));
  }
  if (/^u?int[0-9]*$/.test(type) && (typeof value === 'string' || typeof value === 'number')) {
    try {
      return BigInt(value);
    } catch {
      throw invalid(`${JSON.stringify(value)} is not an integer for a ${type}`);
    }
  }
  return value;
}

const domainFields = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];

/** eth_signTypedData_v4: the typed data as an object or as its JSON text. */
export function typedData(input: unknown): SigningRequest {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > messageBytesMax) throw invalid(`typed data is longer than ${messageBytesMax} characters`);
    try {
      value = JSON.parse(input) as unknown;
    } catch {
      throw invalid('typed data given as a string must be JSON');
    }
  }
  const parsed = typedDataSchema.safeParse(value);
  if (!parsed.success) throw invalid(`typed data: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ')}`);
  const { types, primaryType } = parsed.data;
  const domainTypes = types.EIP712Domain ?? domainFields.filter((field) => parsed.data.domain[field.name] !== undefined);
  const domain = integersAsBigInt({ ...types, EIP712Domain: domainTypes }, 'EIP712Domain', parsed.data.domain) as Record<string, unknown>;
  const message = integersAsBigInt(types, primaryType, parsed.data.message);
  let digest: Hex;
  try {
    digest = hashTypedData({ types, primaryType, domain, message } as unknown as TypedDataDefinition);
  } catch (error) {
    throw invalid(`typed data cannot be hashed: ${error instanceof Error ? error.message.split('\n')[0] : 'malformed'}`);
  }
  const chainId = typeof domain.chainId === 'bigint' ? domain.chainId : null;
  const verifyingContract = typeof domain.verifyingContract === 'string' ? domain.verifyingContract : null;
  return {
    digest,
    facts: { kind: 'typed_data', chainId, verifyingContract },
    decoded: { primaryType, domain: parsed.data.domain as JsonObject, message: parsed.data.message as JsonObject },
  };
}
