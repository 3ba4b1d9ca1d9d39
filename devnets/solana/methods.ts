// Solana JSON-RPC methods over the chain: parameters and defaults as agave reads them (commitment
// defaults to finalized), results in the shapes @solana/kit and @solana/web3.js expect.
import { getBase58Encoder, getBase64Encoder, getCompiledTransactionMessageDecoder, isAddress, type Address } from '@solana/kit';
import { TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { accountEncoding, accountJson, isTokenProgram, type DataSlice } from './accounts.ts';
import type { Commitment, SolanaChain } from './chain.ts';
import { invalidParams, RpcError, rpcErrorCode } from './errors.ts';
import type { Faucet } from './faucet.ts';
import { maxSupportedTransactionVersion, transactionDetails, transactionEncoding, transactionJson, type TransactionView } from './transactions.ts';

export const solanaCoreVersion = '2.2.20';
const featureSet = 3_294_202_862;
const lamportsPerSignature = 5_000n;
const signaturesPerRequestMax = 256;
const signaturesForAddressLimitMax = 1_000;
const blocksRangeMax = 500_000;
const computeBudgetProgram = 'ComputeBudget111111111111111111111111111111';
const computeUnitLimitDefault = 200_000n;
const computeUnitLimitMax = 1_400_000n;
const microLamportsPerLamport = 1_000_000n;

type Params = readonly unknown[];
type Config = Record<string, unknown>;
export type Method = (params: Params) => unknown;

const base58Bytes = getBase58Encoder();
const base64Bytes = getBase64Encoder();
const messageDecoder = getCompiledTransactionMessageDecoder();

function config(params: Params, index: number): Config {
  const value = params[index];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParams(`parameter ${index} must be a configuration object`);
  return value as Config;
}

function text(params: Params, index: number, what: string): string {
  const value = params[index];
  if (typeof value !== 'string') throw invalidParams(`${what} (parameter ${index}) must be a string`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalidParams(`${what} must be a non-negative integer`);
  return value;
}

function addressOf(params: Params, index: number): Address {
  const value = text(params, index, 'address');
  if (!isAddress(value)) throw invalidParams(`Invalid param: ${value} is not a base58 address`);
  return value;
}

function commitment(options: Config, atLeastConfirmed = false): Commitment {
  const value = options.commitment ?? 'finalized';
  const named = { processed: 'processed', recent: 'processed', confirmed: 'confirmed', single: 'confirmed', singleGossip: 'confirmed', finalized: 'finalized', max: 'finalized', root: 'finalized' }[
    typeof value === 'string' ? value : ''
  ] as Commitment | undefined;
  if (!named) throw invalidParams(`unknown commitment ${JSON.stringify(value)}`);
  if (atLeastConfirmed && named === 'processed') throw invalidParams('Method does not support commitment below `confirmed`');
  return named;
}

export function createMethods(chain: SolanaChain, faucet: Faucet): Record<string, Method> {
  /** The slot a read at this commitment sees, refusing one older than the client's minContextSlot. */
  function contextSlot(level: Commitment, options: Config): number {
    const slot = chain.slotAt(level);
    if (options.minContextSlot !== undefined && slot < integer(options.minContextSlot, 'minContextSlot')) {
      throw new RpcError(rpcErrorCode.minContextSlotNotReached, 'Minimum context slot has not been reached', { contextSlot: slot });
    }
    return slot;
  }

  function withContext(level: Commitment, options: Config, value: unknown) {
    return { context: { apiVersion: solanaCoreVersion, slot: contextSlot(level, options) }, value };
  }

  function decodeWire(data: string, encoding: unknown): Uint8Array {
    try {
      if (encoding === 'base64') return new Uint8Array(base64Bytes.encode(data));
      if (encoding === undefined || encoding === 'base58') return new Uint8Array(base58Bytes.encode(data));
    } catch {
      throw invalidParams(`the transaction is not valid ${encoding === 'base64' ? 'base64' : 'base58'}`);
    }
    throw invalidParams(`unsupported transaction encoding ${JSON.stringify(encoding)}; use base58 or base64`);
  }

  function dataSlice(options: Config): DataSlice | undefined {
    const slice = options.dataSlice as Config | undefined;
    return slice ? { offset: integer(slice.offset, 'dataSlice.offset'), length: integer(slice.length, 'dataSlice.length') } : undefined;
  }

  function feeFor(message: ReturnType<typeof messageDecoder.decode>): bigint {
    if (message.version === 1) throw invalidParams('unsupported message version 1');
    let unitLimit: bigint | undefined;
    let microLamportsPerUnit = 0n;
    let otherInstructions = 0n;
    for (const instruction of message.instructions) {
      const data = instruction.data ? new Uint8Array(instruction.data) : new Uint8Array();
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      if (message.staticAccounts[instruction.programAddressIndex] !== computeBudgetProgram) otherInstructions += 1n;
      else if (data[0] === 2 && data.length >= 5) unitLimit = BigInt(view.getUint32(1, true));
      else if (data[0] === 3 && data.length >= 9) microLamportsPerUnit = view.getBigUint64(1, true);
    }
    const units = unitLimit ?? [computeUnitLimitDefault * otherInstructions, computeUnitLimitMax].reduce((a, b) => (a < b ? a : b));
    const priority = (microLamportsPerUnit * units + microLamportsPerLamport - 1n) / microLamportsPerLamport;
    return lamportsPerSignature * BigInt(message.header.numSignerAccounts) + priority;
  }

  function transactionView(options: Config): TransactionView {
    return {
      encoding: transactionEncoding(options.encoding),
      maxSupportedTransactionVersion: maxSupportedTransactionVersion(options.maxSupportedTransactionVersion),
      rewards: options.rewards !== false,
    };
  }

  return {
    getHealth: () => 'ok',
    getVersion: () => ({ 'feature-set': featureSet, 'solana-core': solanaCoreVersion }),
    getGenesisHash: () => chain.block(0)?.blockhash,
    getFirstAvailableBlock: () => 0,
    getSlot: (params) => {
      const options = config(params, 0);
      return contextSlot(commitment(options), options);
    },
    getBlockHeight: (params) => {
      const options = config(params, 0);
      const level = commitment(options);
      contextSlot(level, options);
      return chain.blockHeightAt(level);
    },
    getLatestBlockhash: (params) => {
      const options = config(params, 0);
      const level = commitment(options);
      const { blockhash, lastValidBlockHeight } = chain.latestBlockhash(level);
      return withContext(level, options, { blockhash, lastValidBlockHeight });
    },
    isBlockhashValid: (params) => {
      const options = config(params, 1);
      return withContext(commitment(options), options, chain.isBlockhashValid(text(params, 0, 'blockhash')));
    },
    getBalance: (params) => {
      const options = config(params, 1);
      const level = commitment(options);
      const account = chain.account(addressOf(params, 0), level);
      return withContext(level, options, account.exists ? account.lamports : 0n);
    },
    getAccountInfo: (params) => {
      const options = config(params, 1);
      const level = commitment(options);
      const read = (address: Address) => chain.account(address, level);
      return withContext(level, options, accountJson(read(addressOf(params, 0)), accountEncoding(options.encoding, 'binary'), read, dataSlice(options)));
    },
    getMultipleAccounts: (params) => {
      const options = config(params, 1);
      const level = commitment(options);
      const addresses = params[0];
      if (!Array.isArray(addresses) || !addresses.every((value) => typeof value === 'string' && isAddress(value))) throw invalidParams('addresses must be an array of base58 addresses');
      const read = (address: Address) => chain.account(address, level);
      const encoding = accountEncoding(options.encoding, 'base64');
      return withContext(level, options, (addresses as Address[]).map((address) => accountJson(read(address), encoding, read, dataSlice(options))));
    },
    getTokenAccountsByOwner: (params) => {
      const owner = addressOf(params, 0);
      const filter = config(params, 1);
      const options = config(params, 2);
      const level = commitment(options);
      const read = (address: Address) => chain.account(address, level);
      let program: Address = TOKEN_PROGRAM_ADDRESS;
      if (typeof filter.mint === 'string' && isAddress(filter.mint)) {
        const mint = read(filter.mint);
        if (!mint.exists || !isTokenProgram(mint.programAddress)) throw invalidParams('Invalid param: could not find mint');
        program = mint.programAddress;
      } else if (typeof filter.programId === 'string' && isTokenProgram(filter.programId)) {
        program = filter.programId as Address;
      } else {
        throw invalidParams('Invalid param: the filter must be {"mint": <token mint>} or {"programId": <token program>}');
      }
      const encoding = accountEncoding(options.encoding, 'base64');
      const ownerBytes = base58Bytes.encode(owner);
      const mintBytes = typeof filter.mint === 'string' ? base58Bytes.encode(filter.mint) : undefined;
      const matches = chain.programAccounts(program, level).filter((account) => {
        // The token account layout starts with mint (32 bytes) and owner (32 bytes).
        const sameOwner = ownerBytes.every((byte, index) => account.data[32 + index] === byte);
        return sameOwner && (!mintBytes || mintBytes.every((byte, index) => account.data[index] === byte)) && account.data.length >= 165;
      });
      return withContext(
        level,
        options,
        matches.map((account) => ({ account: accountJson(account, encoding, read, dataSlice(options)), pubkey: account.address })),
      );
    },
    getMinimumBalanceForRentExemption: (params) => chain.svm.minimumBalanceForRentExemption(BigInt(integer(params[0], 'data length'))),
    getFeeForMessage: (params) => {
      const options = config(params, 1);
      let message;
      try {
        message = messageDecoder.decode(base64Bytes.encode(text(params, 0, 'message')));
      } catch {
        throw invalidParams('the message is not a valid base64 transaction message');
      }
      const fee = chain.isBlockhashValid(message.lifetimeToken) ? feeFor(message) : null;
      return withContext(commitment(options), options, fee);
    },
    getBlock: (params) => {
      const slot = integer(params[0], 'slot');
      const options = config(params, 1);
      const level = commitment(options, true);
      const details = transactionDetails(options.transactionDetails);
      const view = transactionView(options);
      if (slot > contextSlot(level, options)) throw new RpcError(rpcErrorCode.blockNotAvailable, `Block not available for slot ${slot}`);
      const block = chain.block(slot);
      if (!block) throw new RpcError(rpcErrorCode.slotSkipped, `Slot ${slot} was skipped, or missing due to ledger jump to recent snapshot`);
      const body: Record<string, unknown> = {
        blockHeight: block.blockHeight,
        blockTime: block.blockTimeSeconds,
        blockhash: block.blockhash,
        parentSlot: block.parentSlot,
        previousBlockhash: block.previousBlockhash,
      };
      if (view.rewards) body.rewards = [];
      if (details === 'signatures') body.signatures = block.transactions.map((transaction) => transaction.signature);
      if (details === 'full' || details === 'accounts') body.transactions = block.transactions.map((transaction) => transactionJson(transaction, details, view));
      return body;
    },
    getBlockTime: (params) => {
      const slot = integer(params[0], 'slot');
      const block = chain.block(slot);
      if (!block) throw new RpcError(rpcErrorCode.slotSkipped, `Slot ${slot} was skipped, or missing due to ledger jump to recent snapshot`);
      return block.blockTimeSeconds;
    },
    getBlocks: (params) => {
      const startSlot = integer(params[0], 'start slot');
      const endGiven = typeof params[1] === 'number';
      const options = config(params, endGiven ? 2 : 1);
      const newest = contextSlot(commitment(options, true), options);
      const endSlot = Math.min(endGiven ? integer(params[1], 'end slot') : newest, newest);
      if (endSlot - startSlot > blocksRangeMax) throw invalidParams(`Slot range too large; max ${blocksRangeMax}`);
      return chain.blockSlots(startSlot, endSlot);
    },
    getBlocksWithLimit: (params) => {
      const startSlot = integer(params[0], 'start slot');
      const limit = integer(params[1], 'limit');
      if (limit > blocksRangeMax) throw invalidParams(`Limit too large; max ${blocksRangeMax}`);
      const options = config(params, 2);
      return chain.blockSlots(startSlot, contextSlot(commitment(options, true), options)).slice(0, limit);
    },
    getTransaction: (params) => {
      const signature = text(params, 0, 'signature');
      const options = config(params, 1);
      const newest = contextSlot(commitment(options, true), options);
      const view = transactionView(options);
      const transaction = chain.transaction(signature);
      if (!transaction || transaction.slot > newest) return null;
      const block = chain.block(transaction.slot);
      return { blockTime: block?.blockTimeSeconds ?? null, slot: transaction.slot, ...transactionJson(transaction, 'full', view) };
    },
    getSignatureStatuses: (params) => {
      const signatures = params[0];
      if (!Array.isArray(signatures) || !signatures.every((value) => typeof value === 'string')) throw invalidParams('signatures must be an array of strings');
      if (signatures.length > signaturesPerRequestMax) throw invalidParams(`Too many inputs provided; max ${signaturesPerRequestMax}`);
      const value = (signatures).map((signature) => {
        const transaction = chain.transaction(signature);
        if (!transaction) return null;
        const confirmationStatus = chain.commitmentOf(transaction);
        return {
          confirmationStatus,
          confirmations: confirmationStatus === 'finalized' ? null : chain.confirmationsOf(transaction),
          err: transaction.err,
          slot: transaction.slot,
          status: transaction.err ? { Err: transaction.err } : { Ok: null },
        };
      });
      return withContext('processed', {}, value);
    },
    getSignaturesForAddress: (params) => {
      const address = addressOf(params, 0);
      const options = config(params, 1);
      const newest = contextSlot(commitment(options, true), options);
      const limit = options.limit === undefined ? signaturesForAddressLimitMax : integer(options.limit, 'limit');
      if (limit < 1 || limit > signaturesForAddressLimitMax) throw invalidParams(`Invalid limit; max ${signaturesForAddressLimitMax}`);
      const history = chain.transactionsOf(address);
      let index = history.length - 1;
      if (typeof options.before === 'string') {
        const before = options.before;
        while (index >= 0 && (history[index] as { signature: string }).signature !== before) index -= 1;
        index -= 1;
      }
      const found = [];
      for (; index >= 0 && found.length < limit; index -= 1) {
        const transaction = history[index];
        if (!transaction) break;
        if (transaction.signature === options.until) break;
        if (transaction.slot > newest) continue;
        found.push({
          blockTime: chain.block(transaction.slot)?.blockTimeSeconds ?? null,
          confirmationStatus: chain.commitmentOf(transaction),
          err: transaction.err,
          memo: null,
          signature: transaction.signature,
          slot: transaction.slot,
        });
      }
      return found;
    },
    sendTransaction: (params) => {
      const options = config(params, 1);
      contextSlot(commitment({ commitment: options.preflightCommitment }), options);
      return chain.submit(decodeWire(text(params, 0, 'transaction'), options.encoding), { skipPreflight: options.skipPreflight === true });
    },
    simulateTransaction: (params) => {
      const options = config(params, 1);
      const level = commitment(options);
      const sigVerify = options.sigVerify === true;
      const replace = options.replaceRecentBlockhash === true;
      if (sigVerify && replace) throw invalidParams('sigVerify may not be used with replaceRecentBlockhash');
      const wire = decodeWire(text(params, 0, 'transaction'), options.encoding);
      const simulation = chain.simulate(wire, { sigVerify });
      const { blockhash, lastValidBlockHeight } = chain.latestBlockhash('processed');
      const accountsOption = options.accounts as Config | undefined;
      let accounts: unknown = null;
      if (accountsOption) {
        const wanted = accountsOption.addresses;
        if (!Array.isArray(wanted)) throw invalidParams('accounts.addresses must be an array');
        const read = (address: Address) => chain.account(address, 'processed');
        const encoding = accountEncoding(accountsOption.encoding, 'base64');
        accounts = (wanted as Address[]).map((address) => {
          const post = simulation.postAccounts.find((account) => account.address === address);
          return accountJson(post ?? read(address), encoding, read);
        });
      }
      return withContext(level, options, {
        accounts,
        err: simulation.err,
        innerInstructions: null,
        logs: simulation.logs,
        replacementBlockhash: replace ? { blockhash, lastValidBlockHeight } : null,
        returnData: simulation.returnData ? { data: [Buffer.from(simulation.returnData.data).toString('base64'), 'base64'], programId: simulation.returnData.programId } : null,
        unitsConsumed: simulation.unitsConsumed,
      });
    },
    requestAirdrop: (params) => {
      const to = addressOf(params, 0);
      const lamports = integer(params[1], 'lamports');
      const { blockhash, lastValidBlockHeight } = chain.latestBlockhash('processed');
      return chain.submit(faucet.airdrop(to, BigInt(lamports), blockhash, lastValidBlockHeight), { skipPreflight: false });
    },
  };
}
