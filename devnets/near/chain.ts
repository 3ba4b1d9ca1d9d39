// The NEAR devnet's chain: one shard, one chunk per block, transactions converted to receipts in
// the block that includes them, receipts executed in the next block (and listed in its chunk),
// outcomes shaped as nearcore's. Everything here is synchronous; the RPC layer waits on blocks.
import { assertNearAccountId } from '../../signer/index.ts';
import { actionView, emptyHash, hashBase58, type Action, type DecodedTransaction } from './encoding.ts';
import { ContractPanic, FunctionCallPromise, type ContractContext, type DevnetContract, type PromiseResult } from './contracts.ts';
import {
  accessKeyNonceRange,
  accountView,
  attachedDeposit,
  attachedGas,
  cloneAccount,
  gasPriceYocto,
  implicitAccountKey,
  isImplicitAccountId,
  prepaidGasMax,
  receiptFeeGas,
  storageStakeYocto,
  type AccessKeyRecord,
  type AccountRecord,
  type Accounts,
} from './state.ts';

/** A JSON-RPC handler error in nearcore's shape: `{name, cause: {name, info}, data}`. */
export class RpcHandlerError extends Error {
  override name = 'RpcHandlerError';
  readonly causeName: string;
  readonly info: Record<string, unknown>;
  readonly data: unknown;

  constructor(causeName: string, info: Record<string, unknown>, data: unknown, message = causeName) {
    super(message);
    this.causeName = causeName;
    this.info = info;
    this.data = data;
  }
}

export function invalidTransaction(error: unknown): RpcHandlerError {
  const data = { TxExecutionError: { InvalidTxError: error } };
  return new RpcHandlerError('INVALID_TRANSACTION', data, data, `invalid transaction: ${JSON.stringify(error)}`);
}

type ExecutionStatus = { SuccessValue: string } | { SuccessReceiptId: string } | { Failure: unknown };

export interface Outcome {
  id: string;
  blockHash: string;
  blockHeight: number;
  executorId: string;
  gasBurnt: bigint;
  tokensBurnt: bigint;
  logs: string[];
  receiptIds: string[];
  status: ExecutionStatus;
}

type ReceiptBody =
  | {
      kind: 'action';
      signerId: string;
      signerPublicKey: string;
      gasPrice: bigint;
      actions: Action[];
      inputDataIds: string[];
      outputDataReceivers: { dataId: string; receiverId: string }[];
    }
  | { kind: 'data'; dataId: string; data: Uint8Array | null };

export interface Receipt {
  id: string;
  predecessorId: string;
  receiverId: string;
  body: ReceiptBody;
  outcome?: Outcome;
}

interface TransactionRecord {
  decoded: DecodedTransaction;
  blockHeight: number;
  outcome: Outcome;
}

export interface AccountChange {
  accountId: string;
  cause: { type: 'transaction_processing'; tx_hash: string } | { type: 'receipt_processing'; receipt_hash: string };
  view: Record<string, unknown>;
}

export interface Block {
  height: number;
  hash: string;
  prevHash: string;
  timestampNs: bigint;
  chunkHash: string;
  transactions: DecodedTransaction[];
  /** The receipts applied in this block's chunk. */
  receipts: Receipt[];
  accounts: Accounts;
  changes: AccountChange[];
  gasBurnt: bigint;
  tokensBurnt: bigint;
}

export type Finality = 'optimistic' | 'near-final' | 'final';
export type TxExecutionStatus = 'NONE' | 'INCLUDED' | 'EXECUTED_OPTIMISTIC' | 'INCLUDED_FINAL' | 'EXECUTED' | 'FINAL';

/** Blocks between the head and the last `final` block (doomslug plus one, as on mainnet). */
export const finalityLagBlocks = 2;
/** How far back (in blocks) a transaction's block hash may be. */
const transactionValidityBlocks = 86_400;
const transactionsPerBlockMax = 1_000;
const systemAccount = 'system';

export interface ChainOptions {
  chainId: string;
  /** The account that may create top-level accounts (the registrar), besides parents creating sub-accounts. */
  registrarId: string;
  genesis: { accountId: string; amountYocto: bigint; publicKeys?: string[]; contract?: DevnetContract; storage?: Map<string, string> }[];
  /** Held in state history for views by block; older blocks answer GARBAGE_COLLECTED_BLOCK. */
  stateHistoryBlocksMax?: number;
}

export class NearChain {
  readonly chainId: string;
  private readonly registrarId: string;
  private readonly contracts = new Map<string, DevnetContract>();
  private readonly blocks: Block[] = [];
  private readonly blocksByHash = new Map<string, Block>();
  private readonly blocksByChunkHash = new Map<string, Block>();
  /** Transactions accepted by the RPC but invalid by the time a block would include them. */
  private readonly dropped = new Map<string, RpcHandlerError>();
  private readonly transactions = new Map<string, TransactionRecord>();
  private readonly receiptsById = new Map<string, Receipt>();
  private mempool: DecodedTransaction[] = [];
  private incoming: Receipt[] = [];
  private postponed: Receipt[] = [];
  private readonly arrivedData = new Map<string, Uint8Array | null>();
  private readonly stateHistoryBlocksMax: number;
  private readonly listeners = new Set<() => void>();
  private readonly salt = hashBase58(String(Math.random()), process.hrtime.bigint());

  constructor(options: ChainOptions) {
    this.chainId = options.chainId;
    this.registrarId = options.registrarId;
    this.stateHistoryBlocksMax = options.stateHistoryBlocksMax ?? 10_000;
    const accounts: Accounts = new Map();
    for (const entry of options.genesis) {
      if (entry.contract) this.contracts.set(entry.contract.name, entry.contract);
      accounts.set(entry.accountId, {
        amount: entry.amountYocto,
        locked: 0n,
        keys: new Map((entry.publicKeys ?? []).map((key) => [key, { nonce: 0n, permission: 'FullAccess' as const }])),
        contract: entry.contract?.name ?? null,
        codeBytes: entry.contract?.codeBytes ?? 0,
        storage: entry.storage ?? new Map<string, string>(),
      });
    }
    const genesisHash = hashBase58('genesis', this.salt);
    this.appendBlock({
      height: 1,
      hash: genesisHash,
      prevHash: emptyHash,
      timestampNs: BigInt(Date.now()) * 1_000_000n,
      chunkHash: hashBase58('chunk', genesisHash),
      transactions: [],
      receipts: [],
      accounts,
      changes: [],
      gasBurnt: 0n,
      tokensBurnt: 0n,
    });
  }

  get head(): Block {
    return this.blocks.at(-1)!;
  }

  get genesis(): Block {
    return this.blocks[0]!;
  }

  /** Calls the listener after every block. */
  onBlock(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  blockAt(finality: Finality): Block {
    const lag = finality === 'final' ? finalityLagBlocks : finality === 'near-final' ? 1 : 0;
    return this.blocks[Math.max(0, this.blocks.length - 1 - lag)]!;
  }

  /** By height or hash; undefined when there is no such block. */
  blockById(id: number | string): Block | undefined {
    if (typeof id === 'number') return this.blocks[id - this.genesis.height];
    return this.blocksByHash.get(id);
  }

  resolveBlock(reference: { block_id?: unknown; finality?: unknown }): Block {
    const id = reference.block_id;
    if (id !== undefined && id !== null) {
      const block = typeof id === 'number' || typeof id === 'string' ? this.blockById(id) : undefined;
      if (!block) throw new RpcHandlerError('UNKNOWN_BLOCK', { block_reference: { block_id: id } }, `DB Not Found Error: BLOCK: ${JSON.stringify(id)}`);
      return block;
    }
    const finality = reference.finality ?? 'optimistic';
    if (finality !== 'optimistic' && finality !== 'near-final' && finality !== 'final') {
      throw new RpcHandlerError('UNKNOWN_BLOCK', { block_reference: { finality } }, `unknown finality ${JSON.stringify(finality)}`);
    }
    return this.blockAt(finality);
  }

  /** The state as of a block, if the devnet still holds it. */
  stateAt(block: Block): Accounts {
    if (this.head.height - block.height > this.stateHistoryBlocksMax) {
      throw new RpcHandlerError('GARBAGE_COLLECTED_BLOCK', { block_hash: block.hash, block_height: block.height }, `the state of block ${block.height} is no longer kept`);
    }
    return block.accounts;
  }

  contract(name: string): DevnetContract | undefined {
    return this.contracts.get(name);
  }

  transaction(hash: string): TransactionRecord | undefined {
    return this.transactions.get(hash);
  }

  receipt(id: string): Receipt | undefined {
    return this.receiptsById.get(id);
  }

  isPending(hash: string): boolean {
    return this.mempool.some((tx) => tx.hash === hash);
  }

  // ---- transactions ----------------------------------------------------------------------

  /**
   * Checks a transaction against the head state, as nearcore's RPC does before it forwards one;
   * nonces already waiting in the mempool count as used. Throws nearcore's InvalidTxError.
   */
  submit(tx: DecodedTransaction): void {
    if (this.transactions.has(tx.hash) || this.isPending(tx.hash)) return;
    const pendingNonce = this.mempool.filter((other) => other.signerId === tx.signerId && other.publicKey === tx.publicKey).reduce((max, other) => (other.nonce > max ? other.nonce : max), 0n);
    this.verify(tx, this.head.accounts, this.head.height + 1, pendingNonce);
    this.mempool.push(tx);
  }

  private verify(tx: DecodedTransaction, accounts: Accounts, height: number, pendingNonce = 0n): { cost: bigint; sendGas: bigint } {
    if (!tx.signatureValid) throw invalidTransaction('InvalidSignature');
    try {
      assertNearAccountId(tx.signerId);
    } catch {
      throw invalidTransaction({ InvalidSignerId: { signer_id: tx.signerId } });
    }
    try {
      assertNearAccountId(tx.receiverId);
    } catch {
      throw invalidTransaction({ InvalidReceiverId: { receiver_id: tx.receiverId } });
    }
    const referenced = this.blocksByHash.get(tx.blockHash);
    if (!referenced) throw invalidTransaction('InvalidChain');
    if (height - referenced.height > transactionValidityBlocks) throw invalidTransaction('Expired');
    const signer = accounts.get(tx.signerId);
    if (!signer) throw invalidTransaction({ SignerDoesNotExist: { signer_id: tx.signerId } });
    const key = signer.keys.get(tx.publicKey);
    if (!key) throw invalidTransaction({ InvalidAccessKeyError: { AccessKeyNotFound: { account_id: tx.signerId, public_key: tx.publicKey } } });
    const usedNonce = key.nonce > pendingNonce ? key.nonce : pendingNonce;
    if (tx.nonce <= usedNonce) throw invalidTransaction({ InvalidNonce: { ak_nonce: Number(usedNonce), tx_nonce: Number(tx.nonce) } });
    const nonceUpperBound = BigInt(height) * accessKeyNonceRange;
    if (tx.nonce > nonceUpperBound) throw invalidTransaction({ NonceTooLarge: { tx_nonce: Number(tx.nonce), upper_bound: Number(nonceUpperBound) } });
    const gas = attachedGas(tx.actions);
    if (gas > prepaidGasMax) throw invalidTransaction({ ActionsValidation: { TotalPrepaidGasExceeded: { total_prepaid_gas: Number(gas), limit: Number(prepaidGasMax) } } });
    const sendGas = receiptFeeGas(tx.actions);
    const cost = (sendGas * 2n + gas) * gasPriceYocto + attachedDeposit(tx.actions);
    this.checkPermission(tx, key, cost);
    if (signer.amount < cost) {
      throw invalidTransaction({ NotEnoughBalance: { signer_id: tx.signerId, balance: signer.amount.toString(), cost: cost.toString() } });
    }
    const after = { ...signer, amount: signer.amount - cost };
    const stake = storageStakeYocto(after);
    if (after.amount + after.locked < stake) throw invalidTransaction({ LackBalanceForState: { signer_id: tx.signerId, amount: (stake - after.amount - after.locked).toString() } });
    return { cost, sendGas };
  }

  private checkPermission(tx: DecodedTransaction, key: AccessKeyRecord, cost: bigint): void {
    if (key.permission === 'FullAccess') return;
    const permission = key.permission.FunctionCall;
    const reject = (error: unknown) => invalidTransaction({ InvalidAccessKeyError: error });
    const [action, ...rest] = tx.actions;
    if (!action || rest.length > 0 || action.type !== 'FunctionCall') throw reject('RequiresFullAccess');
    if (action.deposit > 0n) throw reject('DepositWithFunctionCall');
    if (tx.receiverId !== permission.receiverId) throw reject({ ReceiverMismatch: { tx_receiver: tx.receiverId, ak_receiver: permission.receiverId } });
    if (permission.methodNames.length > 0 && !permission.methodNames.includes(action.methodName)) throw reject({ MethodNameMismatch: { method_name: action.methodName } });
    if (permission.allowance !== null && permission.allowance < cost) {
      throw reject({ NotEnoughAllowance: { account_id: tx.signerId, public_key: tx.publicKey, allowance: permission.allowance.toString(), cost: cost.toString() } });
    }
  }

  // ---- blocks ----------------------------------------------------------------------------

  /** Produces one block: applies the receipts due, then includes the mempool's transactions. */
  produceBlock(): Block {
    const prev = this.head;
    const height = prev.height + 1;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const timestampNs = nowNs > prev.timestampNs ? nowNs : prev.timestampNs + 1_000_000n;
    const hash = hashBase58('block', this.salt, height, prev.hash, timestampNs);
    const block: Block = {
      height,
      hash,
      prevHash: prev.hash,
      timestampNs,
      chunkHash: hashBase58('chunk', hash),
      transactions: [],
      receipts: [],
      accounts: prev.accounts,
      changes: [],
      gasBurnt: 0n,
      tokensBurnt: 0n,
    };
    // Copy-on-write: the previous block keeps its map; this block gets a new one only if it changes.
    let accounts: Accounts | undefined;
    const writable = () => (accounts ??= new Map(prev.accounts));
    const next: Receipt[] = [];
    const due = this.incoming;
    this.incoming = [];
    for (const receipt of due) {
      block.receipts.push(receipt);
      this.applyReceipt(receipt, block, writable, next);
    }
    const included = this.mempool.slice(0, transactionsPerBlockMax);
    this.mempool = this.mempool.slice(included.length);
    for (const tx of included) {
      const state = accounts ?? prev.accounts;
      let verified: { cost: bigint; sendGas: bigint };
      try {
        verified = this.verify(tx, state, height);
      } catch (error) {
        // It became invalid while it waited (a competing nonce, a spent balance): nearcore drops it too.
        if (error instanceof RpcHandlerError) this.dropped.set(tx.hash, error);
        else throw error;
        continue;
      }
      const signer = cloneAccount(state.get(tx.signerId)!);
      const key = signer.keys.get(tx.publicKey)!;
      key.nonce = tx.nonce;
      if (key.permission !== 'FullAccess' && key.permission.FunctionCall.allowance !== null) key.permission.FunctionCall.allowance -= verified.cost;
      signer.amount -= verified.cost;
      writable().set(tx.signerId, signer);
      const receipt: Receipt = {
        id: hashBase58('receipt', tx.hash),
        predecessorId: tx.signerId,
        receiverId: tx.receiverId,
        body: { kind: 'action', signerId: tx.signerId, signerPublicKey: tx.publicKey, gasPrice: gasPriceYocto, actions: tx.actions, inputDataIds: [], outputDataReceivers: [] },
      };
      this.receiptsById.set(receipt.id, receipt);
      next.push(receipt);
      const tokensBurnt = verified.sendGas * gasPriceYocto;
      this.transactions.set(tx.hash, {
        decoded: tx,
        blockHeight: height,
        outcome: { id: tx.hash, blockHash: hash, blockHeight: height, executorId: tx.signerId, gasBurnt: verified.sendGas, tokensBurnt, logs: [], receiptIds: [receipt.id], status: { SuccessReceiptId: receipt.id } },
      });
      block.transactions.push(tx);
      block.gasBurnt += verified.sendGas;
      block.tokensBurnt += tokensBurnt;
      block.changes.push({ accountId: tx.signerId, cause: { type: 'transaction_processing', tx_hash: tx.hash }, view: accountView(signer) });
    }
    this.incoming = next;
    if (accounts) block.accounts = accounts;
    this.appendBlock(block);
    for (const listener of this.listeners) listener();
    return block;
  }

  private appendBlock(block: Block): void {
    this.blocks.push(block);
    this.blocksByHash.set(block.hash, block);
    this.blocksByChunkHash.set(block.chunkHash, block);
  }

  blockByChunkHash(chunkHash: string): Block | undefined {
    return this.blocksByChunkHash.get(chunkHash);
  }

  /** Why an accepted transaction never made it into a block, if it did not. */
  droppedError(hash: string): RpcHandlerError | undefined {
    return this.dropped.get(hash);
  }

  private newReceipt(parent: Receipt, receipt: Omit<Receipt, 'id'>, index: number): Receipt {
    const created: Receipt = { ...receipt, id: hashBase58('receipt', parent.id, index) };
    this.receiptsById.set(created.id, created);
    return created;
  }

  private applyReceipt(receipt: Receipt, block: Block, writable: () => Accounts, next: Receipt[]): void {
    if (receipt.body.kind === 'data') {
      this.arrivedData.set(receipt.body.dataId, receipt.body.data);
      // A callback runs in the block where the last of its inputs arrives.
      const ready = this.postponed.filter((waiting) => waiting.body.kind === 'action' && waiting.body.inputDataIds.every((id) => this.arrivedData.has(id)));
      this.postponed = this.postponed.filter((waiting) => !ready.includes(waiting));
      for (const callback of ready) this.applyReceipt(callback, block, writable, next);
      return;
    }
    if (receipt.body.inputDataIds.some((id) => !this.arrivedData.has(id))) {
      this.postponed.push(receipt);
      return;
    }
    const promiseResults: PromiseResult[] = receipt.body.inputDataIds.map((id) => {
      const data = this.arrivedData.get(id);
      this.arrivedData.delete(id);
      return data === null || data === undefined ? { status: 'failed' } : { status: 'successful', value: data };
    });
    const execution = this.execute(receipt, block, writable().get(receipt.receiverId), promiseResults);
    const body = receipt.body;
    const created: Receipt[] = [];
    const add = (child: Omit<Receipt, 'id'>) => created.push(this.newReceipt(receipt, child, created.length));
    let status: ExecutionStatus;
    if (execution.ok) {
      writable().set(receipt.receiverId, execution.account);
      block.changes.push({ accountId: receipt.receiverId, cause: { type: 'receipt_processing', receipt_hash: receipt.id }, view: accountView(execution.account) });
      for (const transfer of execution.transfers) {
        add({
          predecessorId: receipt.receiverId,
          receiverId: transfer.receiverId,
          body: { ...body, actions: [{ type: 'Transfer', deposit: transfer.amountYocto }], inputDataIds: [], outputDataReceivers: [] },
        });
      }
      if (execution.promise) {
        const { call, callback } = execution.promise;
        const callAction: Action = { type: 'FunctionCall', methodName: call.methodName, args: jsonBytes(call.args), gas: call.gas, deposit: call.deposit };
        if (callback) {
          const dataId = hashBase58('data', receipt.id, created.length);
          add({ predecessorId: receipt.receiverId, receiverId: call.receiverId, body: { ...body, actions: [callAction], inputDataIds: [], outputDataReceivers: [{ dataId, receiverId: receipt.receiverId }] } });
          const callbackAction: Action = { type: 'FunctionCall', methodName: callback.methodName, args: jsonBytes(callback.args), gas: callback.gas, deposit: 0n };
          // Whoever waited on this call's result now waits on the callback's (nearcore forwards the data receivers).
          add({ predecessorId: receipt.receiverId, receiverId: receipt.receiverId, body: { ...body, actions: [callbackAction], inputDataIds: [dataId], outputDataReceivers: body.outputDataReceivers } });
        } else {
          add({ predecessorId: receipt.receiverId, receiverId: call.receiverId, body: { ...body, actions: [callAction], inputDataIds: [], outputDataReceivers: body.outputDataReceivers } });
        }
        status = { SuccessReceiptId: created.at(-1)!.id };
      } else {
        status = { SuccessValue: Buffer.from(execution.value).toString('base64') };
      }
    } else {
      status = { Failure: { ActionError: { index: execution.actionIndex, kind: execution.error } } };
      const deposit = attachedDeposit(body.actions);
      if (deposit > 0n && receipt.predecessorId !== systemAccount) {
        add({ predecessorId: systemAccount, receiverId: receipt.predecessorId, body: { ...refundBody(systemAccount, body.signerPublicKey), actions: [{ type: 'Transfer', deposit }] } });
      }
    }
    if (!(execution.ok && execution.promise)) {
      const data = execution.ok ? execution.value : null;
      for (const receiver of body.outputDataReceivers) add({ predecessorId: receipt.receiverId, receiverId: receiver.receiverId, body: { kind: 'data', dataId: receiver.dataId, data } });
    }
    const refundYocto = (execution.prepaidGas - execution.gasUsed) * body.gasPrice;
    if (refundYocto > 0n) {
      add({ predecessorId: systemAccount, receiverId: body.signerId, body: { ...refundBody(body.signerId, body.signerPublicKey), actions: [{ type: 'Transfer', deposit: refundYocto }] } });
    }
    const tokensBurnt = execution.gasBurnt * body.gasPrice;
    receipt.outcome = {
      id: receipt.id,
      blockHash: block.hash,
      blockHeight: block.height,
      executorId: receipt.receiverId,
      gasBurnt: execution.gasBurnt,
      tokensBurnt,
      logs: execution.logs,
      receiptIds: created.map((child) => child.id),
      status,
    };
    block.gasBurnt += execution.gasBurnt;
    block.tokensBurnt += tokensBurnt;
    next.push(...created);
  }

  /** Runs an action receipt's actions on a copy of its receiver; nothing of a failed receipt is kept. */
  private execute(receipt: Receipt, block: Block, existing: AccountRecord | undefined, promiseResults: PromiseResult[]): Execution {
    const body = receipt.body as Extract<ReceiptBody, { kind: 'action' }>;
    const isRefund = receipt.predecessorId === systemAccount;
    const feeGas = isRefund ? 0n : receiptFeeGas(body.actions);
    const prepaidGas = isRefund ? 0n : feeGas + attachedGas(body.actions);
    const logs: string[] = [];
    const transfers: { receiverId: string; amountYocto: bigint }[] = [];
    let gasBurnt = feeGas;
    let gasUsed = feeGas;
    let account = existing ? cloneAccount(existing) : undefined;
    let value: Uint8Array = new Uint8Array();
    let promise: FunctionCallPromise | undefined;
    const fail = (actionIndex: number, error: unknown): Execution => ({ ok: false, actionIndex, error, logs, gasBurnt, gasUsed: gasBurnt, prepaidGas });
    for (const [index, action] of body.actions.entries()) {
      if (!account && action.type !== 'CreateAccount') {
        if (isImplicitAccountId(receipt.receiverId) && action.type === 'Transfer' && index === 0) {
          account = { amount: 0n, locked: 0n, keys: new Map([[implicitAccountKey(receipt.receiverId), { nonce: BigInt(block.height - 1) * accessKeyNonceRange, permission: 'FullAccess' }]]), contract: null, codeBytes: 0, storage: new Map() };
        } else {
          return fail(index, { AccountDoesNotExist: { account_id: receipt.receiverId } });
        }
      }
      switch (action.type) {
        case 'CreateAccount': {
          if (account) return fail(index, { AccountAlreadyExists: { account_id: receipt.receiverId } });
          const parent = receipt.receiverId.includes('.') ? receipt.receiverId.slice(receipt.receiverId.indexOf('.') + 1) : null;
          if (parent === null ? receipt.predecessorId !== this.registrarId : parent !== receipt.predecessorId) {
            return fail(index, { CreateAccountNotAllowed: { account_id: receipt.receiverId, predecessor_id: receipt.predecessorId } });
          }
          account = { amount: 0n, locked: 0n, keys: new Map(), contract: null, codeBytes: 0, storage: new Map() };
          break;
        }
        case 'Transfer':
          account!.amount += action.deposit;
          break;
        case 'AddKey':
          if (account!.keys.has(action.publicKey)) return fail(index, { AddKeyAlreadyExists: { account_id: receipt.receiverId, public_key: action.publicKey } });
          account!.keys.set(action.publicKey, { nonce: BigInt(block.height - 1) * accessKeyNonceRange, permission: structuredClone(action.permission) });
          break;
        case 'DeleteKey':
          if (!account!.keys.delete(action.publicKey)) return fail(index, { DeleteKeyDoesNotExist: { account_id: receipt.receiverId, public_key: action.publicKey } });
          break;
        case 'FunctionCall': {
          const target = account!;
          target.amount += action.deposit;
          const contract = target.contract === null ? undefined : this.contracts.get(target.contract);
          if (!contract) return fail(index, { FunctionCallError: { CompilationError: { CodeDoesNotExist: { account_id: receipt.receiverId } } } });
          const method = contract.methods[action.methodName];
          if (!method) return fail(index, { FunctionCallError: { MethodResolveError: 'MethodNotFound' } });
          if (method.gasBurnt > action.gas) {
            gasBurnt += action.gas;
            return fail(index, { FunctionCallError: { HostError: 'GasExceeded' } });
          }
          gasBurnt += method.gasBurnt;
          gasUsed += method.gasBurnt;
          const context: ContractContext = {
            contractId: receipt.receiverId,
            predecessorId: receipt.predecessorId,
            signerId: body.signerId,
            attachedDeposit: action.deposit,
            prepaidGas: action.gas,
            blockHeight: block.height,
            storage: target.storage,
            promiseResults,
            isView: false,
            log: (line) => logs.push(line),
            transfer: (receiverId, amountYocto) => transfers.push({ receiverId, amountYocto }),
          };
          const transfersBefore = transfers.length;
          let returned: unknown;
          try {
            returned = method.run(parseJson(action.args), context);
          } catch (error) {
            if (error instanceof ContractPanic) return fail(index, { FunctionCallError: { ExecutionError: `Smart contract panicked: ${error.message}` } });
            throw error;
          }
          for (const transfer of transfers.slice(transfersBefore)) {
            // The contract pays for the transfer receipts it creates out of its call's gas.
            const feeGas = receiptFeeGas([{ type: 'Transfer', deposit: transfer.amountYocto }]);
            target.amount -= transfer.amountYocto;
            gasBurnt += feeGas;
            gasUsed += 2n * feeGas;
          }
          if (target.amount < 0n) return fail(index, { FunctionCallError: { HostError: 'BalanceExceeded' } });
          if (gasUsed > prepaidGas) return fail(index, { FunctionCallError: { HostError: 'GasExceeded' } });
          if (returned instanceof FunctionCallPromise) {
            const childGas = returned.call.gas + (returned.callback?.gas ?? 0n);
            const childFees = 2n * receiptCreationFee(returned);
            if (gasUsed + childGas + childFees > prepaidGas) return fail(index, { FunctionCallError: { HostError: 'GasExceeded' } });
            gasUsed += childGas + childFees;
            gasBurnt += childFees / 2n;
            promise = returned;
          } else {
            value = returned === undefined ? new Uint8Array() : jsonBytes(returned);
          }
          break;
        }
      }
    }
    const stake = storageStakeYocto(account!);
    if (account!.amount + account!.locked < stake) {
      return fail(body.actions.length - 1, { LackBalanceForState: { account_id: receipt.receiverId, amount: (stake - account!.amount - account!.locked).toString() } });
    }
    return { ok: true, account: account!, value, promise, transfers, logs, gasBurnt, gasUsed, prepaidGas };
  }

  // ---- outcomes --------------------------------------------------------------------------

  /** Every receipt the transaction caused so far, breadth first, as nearcore lists them. */
  private receiptTree(record: TransactionRecord): Receipt[] {
    const found: Receipt[] = [];
    const queue = [...record.outcome.receiptIds];
    while (queue.length > 0) {
      const receipt = this.receiptsById.get(queue.shift()!);
      if (!receipt) continue;
      found.push(receipt);
      if (receipt.outcome) queue.push(...receipt.outcome.receiptIds);
    }
    return found;
  }

  executionStatus(record: TransactionRecord): TxExecutionStatus {
    const finalHeight = this.blockAt('final').height;
    const actionReceipts = this.receiptTree(record).filter((receipt) => receipt.body.kind === 'action');
    const pending = actionReceipts.filter((receipt) => !receipt.outcome);
    const executed = pending.every((receipt) => receipt.predecessorId === systemAccount);
    const includedFinal = record.blockHeight <= finalHeight;
    if (pending.length === 0 && includedFinal && actionReceipts.every((receipt) => !receipt.outcome || receipt.outcome.blockHeight <= finalHeight)) return 'FINAL';
    if (executed && includedFinal) return 'EXECUTED';
    if (executed) return 'EXECUTED_OPTIMISTIC';
    return includedFinal ? 'INCLUDED_FINAL' : 'INCLUDED';
  }

  static reached(status: TxExecutionStatus, wanted: TxExecutionStatus): boolean {
    switch (wanted) {
      case 'NONE':
      case 'INCLUDED':
        return true;
      case 'EXECUTED_OPTIMISTIC':
        return status === 'EXECUTED_OPTIMISTIC' || status === 'EXECUTED' || status === 'FINAL';
      case 'INCLUDED_FINAL':
        return status === 'INCLUDED_FINAL' || status === 'EXECUTED' || status === 'FINAL';
      case 'EXECUTED':
        return status === 'EXECUTED' || status === 'FINAL';
      case 'FINAL':
        return status === 'FINAL';
    }
  }

  /** The `tx` / `send_tx` result (with `receipts` for EXPERIMENTAL_tx_status). */
  finalOutcome(hash: string, withReceipts: boolean): Record<string, unknown> {
    const record = this.transactions.get(hash);
    if (!record) throw new RpcHandlerError('UNKNOWN_TRANSACTION', { requested_transaction_hash: hash }, `Transaction ${hash} doesn't exist`);
    const tree = this.receiptTree(record);
    let status: unknown = 'Started';
    let cursor: ExecutionStatus = record.outcome.status;
    for (;;) {
      if ('SuccessReceiptId' in cursor) {
        const receipt = this.receiptsById.get(cursor.SuccessReceiptId);
        if (!receipt?.outcome) break;
        cursor = receipt.outcome.status;
        continue;
      }
      status = cursor;
      break;
    }
    const result: Record<string, unknown> = {
      final_execution_status: this.executionStatus(record),
      status,
      transaction: transactionView(record.decoded),
      transaction_outcome: outcomeView(record.outcome),
      receipts_outcome: tree.filter((receipt) => receipt.outcome).map((receipt) => outcomeView(receipt.outcome!)),
    };
    if (withReceipts) result.receipts = tree.map(receiptView);
    return result;
  }
}

type Execution =
  | {
      ok: true;
      account: AccountRecord;
      value: Uint8Array;
      promise: FunctionCallPromise | undefined;
      transfers: { receiverId: string; amountYocto: bigint }[];
      logs: string[];
      gasBurnt: bigint;
      gasUsed: bigint;
      prepaidGas: bigint;
    }
  | { ok: false; actionIndex: number; error: unknown; logs: string[]; gasBurnt: bigint; gasUsed: bigint; prepaidGas: bigint };

function receiptCreationFee(promise: FunctionCallPromise): bigint {
  const call: Action = { type: 'FunctionCall', methodName: promise.call.methodName, args: jsonBytes(promise.call.args), gas: 0n, deposit: 0n };
  const fee = receiptFeeGas([call]);
  if (!promise.callback) return fee;
  return fee + receiptFeeGas([{ type: 'FunctionCall', methodName: promise.callback.methodName, args: jsonBytes(promise.callback.args), gas: 0n, deposit: 0n }]);
}

function refundBody(signerId: string, signerPublicKey: string): Extract<ReceiptBody, { kind: 'action' }> {
  return { kind: 'action', signerId, signerPublicKey, gasPrice: 0n, actions: [], inputDataIds: [], outputDataReceivers: [] };
}

export function jsonBytes(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(value)));
}

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw new ContractPanic('Failed to deserialize input from JSON.');
  }
}

export function outcomeView(outcome: Outcome): Record<string, unknown> {
  return {
    id: outcome.id,
    block_hash: outcome.blockHash,
    proof: [],
    outcome: {
      executor_id: outcome.executorId,
      gas_burnt: Number(outcome.gasBurnt),
      tokens_burnt: outcome.tokensBurnt.toString(),
      logs: outcome.logs,
      receipt_ids: outcome.receiptIds,
      status: outcome.status,
      metadata: { version: 3, gas_profile: [] },
    },
  };
}

export function transactionView(tx: DecodedTransaction): Record<string, unknown> {
  return {
    signer_id: tx.signerId,
    public_key: tx.publicKey,
    nonce: Number(tx.nonce),
    receiver_id: tx.receiverId,
    actions: tx.actions.map(actionView),
    priority_fee: 0,
    signature: tx.signature,
    hash: tx.hash,
  };
}

export function receiptView(receipt: Receipt): Record<string, unknown> {
  const body = receipt.body;
  return {
    predecessor_id: receipt.predecessorId,
    receiver_id: receipt.receiverId,
    receipt_id: receipt.id,
    priority: 0,
    receipt:
      body.kind === 'data'
        ? { Data: { data_id: body.dataId, data: body.data === null ? null : Buffer.from(body.data).toString('base64'), is_promise_resume: false } }
        : {
            Action: {
              signer_id: body.signerId,
              signer_public_key: body.signerPublicKey,
              gas_price: body.gasPrice.toString(),
              output_data_receivers: body.outputDataReceivers.map((receiver) => ({ data_id: receiver.dataId, receiver_id: receiver.receiverId })),
              input_data_ids: body.inputDataIds,
              actions: body.actions.map(actionView),
              is_promise_yield: false,
              refund_to: null,
            },
          },
  };
}
