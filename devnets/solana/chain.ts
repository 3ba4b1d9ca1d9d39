// The chain behind the devnet's RPC: LiteSVM executes transactions; this module owns what LiteSVM
// has no notion of — slots, blocks, blockhashes and their 150-block lifetime, commitments, and
// forks. Transactions land in the open slot; closing it makes a block (`confirmed`), and a block
// 32 slots behind the newest is `finalized`. A block newer than that can be dropped: LiteSVM is
// restored from the snapshot taken after the dropped block's parent, and later slots build on it.
import { createHash, randomBytes } from 'node:crypto';
import {
  getBase58Decoder,
  getBase58Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
  type EncodedAccount,
  type MaybeEncodedAccount,
  type Transaction,
} from '@solana/kit';
import { Clock, LiteSVM, TransactionMetadata } from 'litesvm';
import { tokenBalances, type TokenBalance } from './accounts.ts';
import { RpcError, rpcErrorCode, transactionErrorJson, transactionErrorText, type TransactionErrorJson } from './errors.ts';

export const finalizationDepthSlots = 32;
/** agave's MAX_PROCESSING_AGE: a blockhash may be used by blocks up to this many heights later. */
export const blockhashLifetimeBlocks = 150;
const addressLookupTableHeaderBytes = 56;
const addressBytes = 32;

export type Commitment = 'processed' | 'confirmed' | 'finalized';
type AnyCompiledMessage = ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>;
/** Legacy and version 0 messages: the devnet refuses the newer version 1 format. */
export type CompiledMessage = Exclude<AnyCompiledMessage, { version: 1 }>;

export interface CompiledInnerInstruction {
  programIdIndex: number;
  accounts: number[];
  data: Uint8Array;
  stackHeight: number;
}

export interface LandedTransaction {
  signature: string;
  signatures: string[];
  wire: Uint8Array;
  message: CompiledMessage;
  /** Static keys, then keys loaded from lookup tables (writable, then readonly): what balances index. */
  accountKeys: Address[];
  loadedAddresses: { writable: Address[]; readonly: Address[] };
  writable: boolean[];
  slot: number;
  err: TransactionErrorJson | null;
  feeLamports: bigint;
  preBalances: bigint[];
  postBalances: bigint[];
  preTokenBalances: TokenBalance[];
  postTokenBalances: TokenBalance[];
  logs: string[];
  computeUnitsConsumed: bigint;
  innerInstructions: { index: number; instructions: CompiledInnerInstruction[] }[];
  returnData: { programId: string; data: Uint8Array } | null;
}

export interface Block {
  slot: number;
  parentSlot: number;
  blockHeight: number;
  /** Empty while the slot is open; set when it closes. */
  blockhash: string;
  previousBlockhash: string;
  blockTimeSeconds: number;
  transactions: LandedTransaction[];
  /** Each account this block wrote, as it was before the block: reads at older commitments undo through it. */
  accountsBefore: Map<Address, MaybeEncodedAccount>;
  /** LiteSVM's state after this block, kept while the block can still be a fork's parent. */
  stateAfter: Uint8Array | null;
}

export interface Simulation {
  err: TransactionErrorJson | null;
  logs: string[];
  unitsConsumed: bigint;
  returnData: LandedTransaction['returnData'];
  postAccounts: EncodedAccount[];
}

const base58 = getBase58Decoder();
const base58Bytes = getBase58Encoder();
const transactionDecoder = getTransactionDecoder();
const messageDecoder = getCompiledTransactionMessageDecoder();

function configure(svm: LiteSVM): LiteSVM {
  // Blockhash lifetime is ours (LiteSVM only accepts its single latest hash).
  return svm.withBlockhashCheck(false).withSigverify(true);
}

export function decodeTransaction(wire: Uint8Array): { transaction: Transaction; message: CompiledMessage } {
  let transaction: Transaction;
  let message: AnyCompiledMessage;
  try {
    transaction = transactionDecoder.decode(wire);
    message = messageDecoder.decode(transaction.messageBytes);
  } catch (error) {
    throw new RpcError(rpcErrorCode.invalidParams, `failed to deserialize transaction: ${(error as Error).message}`);
  }
  if (message.version !== 'legacy' && message.version !== 0) {
    throw new RpcError(rpcErrorCode.invalidParams, `unsupported transaction version ${String(message.version)}`);
  }
  return { transaction, message };
}

function returnDataOf(meta: TransactionMetadata): LandedTransaction['returnData'] {
  const returnData = meta.returnData();
  const data = returnData.data();
  return data.length ? { programId: base58.decode(returnData.programId()), data } : null;
}

export class SolanaChain {
  #svm: LiteSVM;
  readonly #blocks = new Map<number, Block>();
  /** Slots of the closed blocks on the current fork, oldest first. */
  readonly #fork: number[] = [];
  #open: Block;
  #finalizedSlot: number;
  readonly #blocksByHash = new Map<string, Block>();
  readonly #transactions = new Map<string, LandedTransaction>();
  readonly #transactionsByAddress = new Map<Address, LandedTransaction[]>();

  /** `genesis` plants the accounts the chain starts with, before the first snapshot. */
  constructor(genesis: (svm: LiteSVM) => void) {
    this.#svm = configure(new LiteSVM());
    genesis(this.#svm);
    const first: Block = {
      slot: 0,
      parentSlot: 0,
      blockHeight: 0,
      blockhash: base58.decode(randomBytes(32)),
      previousBlockhash: base58.decode(new Uint8Array(32)),
      blockTimeSeconds: Math.floor(Date.now() / 1000),
      transactions: [],
      accountsBefore: new Map(),
      stateAfter: this.#svm.toBytes(),
    };
    this.#remember(first);
    this.#finalizedSlot = 0;
    this.#open = this.#openAfter(first, 1);
  }

  get svm(): LiteSVM {
    return this.#svm;
  }

  get processedSlot(): number {
    return this.#open.slot;
  }

  get openBlockHeight(): number {
    return this.#open.blockHeight;
  }

  get confirmedBlock(): Block {
    return this.#blockOrThrow(this.#fork.at(-1));
  }

  get finalizedBlock(): Block {
    return this.#blockOrThrow(this.#finalizedSlot);
  }

  slotAt(commitment: Commitment): number {
    if (commitment === 'processed') return this.#open.slot;
    return commitment === 'confirmed' ? this.confirmedBlock.slot : this.#finalizedSlot;
  }

  blockHeightAt(commitment: Commitment): number {
    if (commitment === 'processed') return this.#open.blockHeight;
    return commitment === 'confirmed' ? this.confirmedBlock.blockHeight : this.finalizedBlock.blockHeight;
  }

  /** The blockhash a new transaction should use: the newest block's at processed and confirmed. */
  latestBlockhash(commitment: Commitment): { blockhash: string; lastValidBlockHeight: number; slot: number } {
    const block = commitment === 'finalized' ? this.finalizedBlock : this.confirmedBlock;
    return { blockhash: block.blockhash, lastValidBlockHeight: block.blockHeight + blockhashLifetimeBlocks, slot: this.slotAt(commitment) };
  }

  isBlockhashValid(blockhash: string): boolean {
    const block = this.#blocksByHash.get(blockhash);
    return block !== undefined && this.#open.blockHeight <= block.blockHeight + blockhashLifetimeBlocks;
  }

  /** A closed block on the current fork; undefined for skipped, dropped or future slots. */
  block(slot: number): Block | undefined {
    return this.#blocks.get(slot);
  }

  /** Slots with a block on the current fork in [startSlot, endSlot], ascending. */
  blockSlots(startSlot: number, endSlot: number): number[] {
    const slots: number[] = [];
    for (let index = this.#forkIndexFrom(startSlot); index < this.#fork.length; index += 1) {
      const slot = this.#fork[index] as number;
      if (slot > endSlot) break;
      slots.push(slot);
    }
    return slots;
  }

  transaction(signature: string): LandedTransaction | undefined {
    return this.#transactions.get(signature);
  }

  /** Transactions that mention the address, oldest first. */
  transactionsOf(address: Address): readonly LandedTransaction[] {
    return this.#transactionsByAddress.get(address) ?? [];
  }

  commitmentOf(transaction: LandedTransaction): Commitment {
    if (transaction.slot === this.#open.slot) return 'processed';
    return transaction.slot <= this.#finalizedSlot ? 'finalized' : 'confirmed';
  }

  /** Closed blocks from the transaction's own up to the newest (0 while its slot is open). */
  confirmationsOf(transaction: LandedTransaction): number {
    return this.#fork.length - this.#forkIndexFrom(transaction.slot);
  }

  /** Index of the first fork slot at or after `slot` (the fork is sorted). */
  #forkIndexFrom(slot: number): number {
    let low = 0;
    let high = this.#fork.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#fork[middle] as number) < slot) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  account(address: Address, commitment: Commitment): MaybeEncodedAccount {
    const undo = this.#undoAfter(this.slotAt(commitment));
    for (const block of undo) {
      const before = block.accountsBefore.get(address);
      if (before) return before;
    }
    return this.#svm.getAccount(address);
  }

  programAccounts(program: Address, commitment: Commitment): EncodedAccount[] {
    const accounts = new Map<Address, EncodedAccount>();
    for (const account of this.#svm.getProgramAccounts(program)) accounts.set(account.address, account);
    const restored = new Set<Address>();
    for (const block of this.#undoAfter(this.slotAt(commitment))) {
      for (const [address, before] of block.accountsBefore) {
        if (restored.has(address)) continue;
        restored.add(address);
        if (before.exists && before.programAddress === program) accounts.set(address, before);
        else accounts.delete(address);
      }
    }
    return [...accounts.values()];
  }

  /** Blocks newer than `slot`, oldest first, the open one last. */
  #undoAfter(slot: number): Block[] {
    if (slot >= this.#open.slot) return [];
    const blocks: Block[] = [];
    for (let index = this.#fork.length - 1; index >= 0; index -= 1) {
      const forkSlot = this.#fork[index] as number;
      if (forkSlot <= slot) break;
      blocks.unshift(this.#blockOrThrow(forkSlot));
    }
    blocks.push(this.#open);
    return blocks;
  }

  /**
   * Executes a signed transaction in the open slot. With preflight, a transaction that would fail
   * is refused with agave's -32002; without it, a failing transaction lands (and pays its fee) and
   * one that cannot even be charged (unknown blockhash, bad signature, no funds for the fee) is
   * silently dropped, as a leader would.
   */
  submit(wire: Uint8Array, options: { skipPreflight: boolean }): string {
    const { transaction, message } = decodeTransaction(wire);
    const signature = base58.decode(Object.values(transaction.signatures)[0] ?? new Uint8Array(64));
    const blockhashValid = this.isBlockhashValid(message.lifetimeToken);
    if (!options.skipPreflight) {
      if (!blockhashValid) throw this.#preflightFailure('BlockhashNotFound', [], 0n);
      const simulation = this.#svm.simulateTransaction(transaction);
      if (!('postAccounts' in simulation)) {
        const meta = simulation.meta();
        throw this.#preflightFailure(transactionErrorJson(simulation.err()), meta.logs(), meta.computeUnitsConsumed());
      }
    } else if (!blockhashValid) {
      return signature;
    }
    const keys = this.#accountKeys(message);
    const before = keys.all.map((key) => this.#svm.getAccount(key));
    const result = this.#svm.sendTransaction(transaction);
    const after = keys.all.map((key) => this.#svm.getAccount(key));
    const lamportsOf = (accounts: MaybeEncodedAccount[]) => accounts.map((account): bigint => (account.exists ? account.lamports : 0n));
    const preBalances = lamportsOf(before);
    const postBalances = lamportsOf(after);
    // Lamports only move between the transaction's own accounts, so what the sum lost is the fee.
    const feeLamports = preBalances.reduce((sum, value) => sum + value, 0n) - postBalances.reduce((sum, value) => sum + value, 0n);
    const ok = result instanceof TransactionMetadata;
    if (!ok && feeLamports === 0n) {
      if (options.skipPreflight) return signature;
      const meta = result.meta();
      throw this.#preflightFailure(transactionErrorJson(result.err()), meta.logs(), meta.computeUnitsConsumed());
    }
    const meta = ok ? result : (result).meta();
    const read = (address: Address) => this.#svm.getAccount(address);
    keys.all.forEach((key, index) => {
      if (keys.writable[index] && !this.#open.accountsBefore.has(key)) this.#open.accountsBefore.set(key, before[index] as MaybeEncodedAccount);
    });
    const landed: LandedTransaction = {
      signature,
      signatures: Object.values(transaction.signatures).map((bytes) => base58.decode(bytes ?? new Uint8Array(64))),
      wire,
      message,
      accountKeys: keys.all,
      loadedAddresses: keys.loaded,
      writable: keys.writable,
      slot: this.#open.slot,
      err: ok ? null : transactionErrorJson((result).err()),
      feeLamports,
      preBalances,
      postBalances,
      preTokenBalances: tokenBalances(before, read),
      postTokenBalances: tokenBalances(after, read),
      logs: meta.logs(),
      computeUnitsConsumed: meta.computeUnitsConsumed(),
      innerInstructions: meta
        .innerInstructions()
        .map((instructions, index) => ({
          index,
          instructions: instructions.map((inner) => {
            const compiled = inner.instruction();
            return { programIdIndex: compiled.programIdIndex(), accounts: [...compiled.accounts()], data: compiled.data(), stackHeight: inner.stackHeight() };
          }),
        }))
        .filter((entry) => entry.instructions.length > 0),
      returnData: returnDataOf(meta),
    };
    this.#open.transactions.push(landed);
    this.#index(landed);
    return signature;
  }

  simulate(wire: Uint8Array, options: { sigVerify: boolean }): Simulation {
    const { transaction } = decodeTransaction(wire);
    this.#svm.withSigverify(options.sigVerify);
    try {
      const simulation = this.#svm.simulateTransaction(transaction);
      if ('postAccounts' in simulation) {
        const meta = simulation.meta();
        return { err: null, logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed(), returnData: returnDataOf(meta), postAccounts: simulation.postAccounts() };
      }
      const meta = simulation.meta();
      return { err: transactionErrorJson(simulation.err()), logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed(), returnData: null, postAccounts: [] };
    } finally {
      this.#svm.withSigverify(true);
    }
  }

  /** Closes the open slot into a block and opens the next one; returns the closed block. */
  produceSlot(): Block {
    const closing = this.#open;
    const hash = createHash('sha256').update(new Uint8Array(base58Bytes.encode(closing.previousBlockhash))).update(String(closing.slot));
    for (const transaction of closing.transactions) hash.update(transaction.signature);
    closing.blockhash = base58.decode(hash.digest());
    closing.stateAfter = closing.transactions.length ? this.#svm.toBytes() : this.#blockOrThrow(closing.parentSlot).stateAfter;
    this.#remember(closing);
    this.#finalize();
    this.#open = this.#openAfter(closing, closing.slot + 1);
    return closing;
  }

  /**
   * Drops a block that is not finalized, with every block after it and the open slot: their
   * transactions disappear and state returns to the parent's. The dropped slots stay skipped.
   */
  dropSlot(slot: number): string[] {
    if (slot <= this.#finalizedSlot) throw new Error(`slot ${slot} is finalized (finalized slot ${this.#finalizedSlot}) and cannot be dropped`);
    const dropped = slot === this.#open.slot ? this.#open : this.#blocks.get(slot);
    if (!dropped) throw new Error(`slot ${slot} has no block on the current fork`);
    const parent = this.#blockOrThrow(dropped.parentSlot);
    const removed = [...this.#fork.slice(this.#forkIndexFrom(slot)).map((forkSlot) => this.#blockOrThrow(forkSlot)), this.#open];
    const signatures: string[] = [];
    for (const block of removed) {
      this.#blocks.delete(block.slot);
      this.#blocksByHash.delete(block.blockhash);
      for (const transaction of block.transactions) {
        signatures.push(transaction.signature);
        this.#transactions.delete(transaction.signature);
        for (const key of new Set(transaction.accountKeys)) {
          const list = this.#transactionsByAddress.get(key);
          while (list?.length && (list.at(-1) as LandedTransaction).slot >= slot) list.pop();
        }
      }
    }
    this.#fork.splice(this.#forkIndexFrom(slot));
    if (!parent.stateAfter) throw new Error(`no snapshot after slot ${parent.slot}; it should be kept while a child can be dropped`);
    this.#svm = configure(LiteSVM.fromBytes(parent.stateAfter));
    this.#open = this.#openAfter(parent, this.#open.slot + 1);
    return signatures;
  }

  #accountKeys(message: CompiledMessage) {
    const { numSignerAccounts, numReadonlySignerAccounts, numReadonlyNonSignerAccounts } = message.header;
    const staticKeys = message.staticAccounts;
    const writable = staticKeys.map((_, index) =>
      index < numSignerAccounts ? index < numSignerAccounts - numReadonlySignerAccounts : index - numSignerAccounts < staticKeys.length - numSignerAccounts - numReadonlyNonSignerAccounts,
    );
    const loaded = { writable: [] as Address[], readonly: [] as Address[] };
    const lookups = 'addressTableLookups' in message ? (message.addressTableLookups ?? []) : [];
    for (const lookup of lookups) {
      const table = this.#svm.getAccount(lookup.lookupTableAddress);
      if (!table.exists) continue;
      const at = (index: number) => {
        const offset = addressLookupTableHeaderBytes + index * addressBytes;
        return base58.decode(table.data.subarray(offset, offset + addressBytes)) as Address;
      };
      loaded.writable.push(...lookup.writableIndexes.map(at));
      loaded.readonly.push(...lookup.readonlyIndexes.map(at));
    }
    return {
      all: [...staticKeys, ...loaded.writable, ...loaded.readonly],
      writable: [...writable, ...loaded.writable.map(() => true), ...loaded.readonly.map(() => false)],
      loaded,
    };
  }

  #preflightFailure(err: TransactionErrorJson, logs: string[], unitsConsumed: bigint): RpcError {
    return new RpcError(rpcErrorCode.sendTransactionPreflightFailure, `Transaction simulation failed: ${transactionErrorText(err)}`, {
      accounts: null,
      err,
      innerInstructions: null,
      logs,
      replacementBlockhash: null,
      returnData: null,
      unitsConsumed,
    });
  }

  #index(transaction: LandedTransaction): void {
    this.#transactions.set(transaction.signature, transaction);
    for (const key of new Set(transaction.accountKeys)) {
      const list = this.#transactionsByAddress.get(key);
      if (list) list.push(transaction);
      else this.#transactionsByAddress.set(key, [transaction]);
    }
  }

  #remember(block: Block): void {
    this.#blocks.set(block.slot, block);
    this.#blocksByHash.set(block.blockhash, block);
    this.#fork.push(block.slot);
  }

  #finalize(): void {
    const newest = this.confirmedBlock.slot;
    for (let index = this.#forkIndexFrom(this.#finalizedSlot + 1); index < this.#fork.length; index += 1) {
      const slot = this.#fork[index] as number;
      if (slot > newest - finalizationDepthSlots) break;
      // The block finalized before stops being a possible fork parent, and nothing reads before it.
      const previous = this.#blockOrThrow(this.#finalizedSlot);
      previous.stateAfter = null;
      this.#finalizedSlot = slot;
      this.#blockOrThrow(slot).accountsBefore.clear();
    }
  }

  #openAfter(parent: Block, slot: number): Block {
    const blockTimeSeconds = Math.floor(Date.now() / 1000);
    const clock = this.#svm.getClock();
    this.#svm.setClock(new Clock(BigInt(slot), clock.epochStartTimestamp, clock.epoch, clock.leaderScheduleEpoch, BigInt(blockTimeSeconds)));
    return {
      slot,
      parentSlot: parent.slot,
      blockHeight: parent.blockHeight + 1,
      blockhash: '',
      previousBlockhash: parent.blockhash,
      blockTimeSeconds,
      transactions: [],
      accountsBefore: new Map(),
      stateAfter: null,
    };
  }

  #blockOrThrow(slot: number | undefined): Block {
    const block = slot === undefined ? undefined : this.#blocks.get(slot);
    if (!block) throw new Error(`no block at slot ${String(slot)} on the current fork`);
    return block;
  }
}
