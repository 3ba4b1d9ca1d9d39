// The EVM events the indexer reads, and how they are decoded. Transfer is decoded by hand (it
// is the hot path: every token deposit); the contract events later flows act on go through
// viem's ABI decoder.
import { decodeEventLog, parseAbi, toEventSelector, type Hex } from 'viem';

export const contractEventsAbi = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  // OpenZeppelin ERC2771Forwarder: a relayed request was executed (issue #7 closes its request on it).
  'event ExecutedForwardRequest(address indexed signer, uint256 nonce, bool success)',
  // ERC-4337 EntryPoint stake manager: the paymaster's deposit moved (issue #7's refills watch it).
  'event Deposited(address indexed account, uint256 totalDeposit)',
  'event Withdrawn(address indexed account, address withdrawAddress, uint256 amount)',
  // ERC-4337 EntryPoint: an operation was handled; a sponsored one's actualGasCost left its paymaster's deposit (issue #24).
  'event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)',
]);

export const topics = {
  transfer: toEventSelector('Transfer(address,address,uint256)'),
  executedForwardRequest: toEventSelector('ExecutedForwardRequest(address,uint256,bool)'),
  deposited: toEventSelector('Deposited(address,uint256)'),
  withdrawn: toEventSelector('Withdrawn(address,address,uint256)'),
  userOperationEvent: toEventSelector('UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)'),
} as const;

export interface TransferLog {
  to: string;
  value: bigint;
}

/** An ERC-20 Transfer (three topics, the amount in data); anything else, e.g. ERC-721's four topics, is null. */
export function decodeTransfer(logTopics: readonly string[], data: string): TransferLog | null {
  if (logTopics.length !== 3 || logTopics[0] !== topics.transfer || data.length !== 66) return null;
  return { to: `0x${logTopics[2]!.slice(26)}`, value: BigInt(data) };
}

/** Decodes a forwarder or EntryPoint event into JSON-safe arguments (integers as strings). */
export function decodeContractEvent(logTopics: readonly string[], data: string): { event: string; args: Record<string, string | boolean> } | null {
  try {
    const decoded = decodeEventLog({ abi: contractEventsAbi, topics: logTopics as [Hex, ...Hex[]], data: data as Hex });
    const args: Record<string, string | boolean> = {};
    for (const [name, value] of Object.entries(decoded.args as Record<string, unknown>)) {
      args[name] = typeof value === 'boolean' ? value : String(value);
    }
    return { event: decoded.eventName, args };
  } catch {
    return null;
  }
}
