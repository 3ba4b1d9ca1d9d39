// The read side of the NEAR devnet's JSON-RPC: blocks, chunks, state queries and state changes,
// in the JSON shapes nearcore answers with (near-api-js 7's generated types).
import { emptyHash, hashBase58, permissionView } from './encoding.ts';
import { ContractPanic, type ContractContext, type DevnetContract } from './contracts.ts';
import { NearChain, RpcHandlerError, jsonBytes, receiptView, transactionView, finalityLagBlocks, type Block } from './chain.ts';
import { accountView, gasPriceYocto, storageYoctoPerByte } from './state.ts';

/** Parameters that do not fit the method (nearcore's REQUEST_VALIDATION_ERROR / PARSE_ERROR). */
export class ParamsError extends Error {
  override name = 'ParamsError';
}

export const protocolVersion = 78;
const chunkGasLimit = 1_000_000_000_000_000;
const validatorId = 'validator.devnet';

export function record(params: unknown): Record<string, unknown> {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new ParamsError('params must be an object');
  return params as Record<string, unknown>;
}

function chunkHeader(block: Block): Record<string, unknown> {
  return {
    chunk_hash: block.chunkHash,
    prev_block_hash: block.prevHash,
    outcome_root: emptyHash,
    prev_state_root: emptyHash,
    encoded_merkle_root: emptyHash,
    encoded_length: 0,
    height_created: block.height,
    height_included: block.height,
    shard_id: 0,
    gas_used: Number(block.gasBurnt),
    gas_limit: chunkGasLimit,
    rent_paid: '0',
    validator_reward: '0',
    balance_burnt: block.tokensBurnt.toString(),
    outgoing_receipts_root: emptyHash,
    tx_root: emptyHash,
    validator_proposals: [],
    signature: `ed25519:${hashBase58('signature', block.chunkHash)}`,
  };
}

export function blockView(chain: NearChain, block: Block): Record<string, unknown> {
  const ancestor = (lag: number) => chain.blockById(Math.max(chain.genesis.height, block.height - lag))!.hash;
  let totalSupply = 0n;
  for (const account of block.accounts.values()) totalSupply += account.amount + account.locked;
  return {
    author: validatorId,
    header: {
      height: block.height,
      prev_height: block.height === chain.genesis.height ? null : block.height - 1,
      hash: block.hash,
      prev_hash: block.prevHash,
      epoch_id: emptyHash,
      next_epoch_id: emptyHash,
      timestamp: Number(block.timestampNs),
      timestamp_nanosec: block.timestampNs.toString(),
      gas_price: gasPriceYocto.toString(),
      total_supply: totalSupply.toString(),
      last_final_block: ancestor(finalityLagBlocks),
      last_ds_final_block: ancestor(1),
      chunks_included: 1,
      chunk_mask: [true],
      latest_protocol_version: protocolVersion,
      prev_state_root: emptyHash,
      chunk_receipts_root: emptyHash,
      chunk_headers_root: emptyHash,
      chunk_tx_root: emptyHash,
      outcome_root: emptyHash,
      challenges_root: emptyHash,
      challenges_result: [],
      random_value: hashBase58('random', block.hash),
      validator_proposals: [],
      next_bp_hash: emptyHash,
      block_merkle_root: emptyHash,
      approvals: [],
      signature: `ed25519:${hashBase58('signature', block.hash)}`,
      rent_paid: '0',
      validator_reward: '0',
    },
    chunks: [chunkHeader(block)],
  };
}

/** `chunk` takes `[chunk_hash]`, `[[block_id, shard_id]]`, `{chunk_id}` or `{block_id, shard_id}`. */
export function chunkView(chain: NearChain, params: unknown): Record<string, unknown> {
  let reference: unknown = Array.isArray(params) ? params[0] : record(params).chunk_id;
  if (reference === undefined && !Array.isArray(params)) {
    const { block_id: blockId, shard_id: shardId } = record(params);
    reference = [blockId, shardId];
  }
  let block: Block | undefined;
  if (typeof reference === 'string') {
    block = chain.blockByChunkHash(reference);
    if (!block) throw new RpcHandlerError('UNKNOWN_CHUNK', { chunk_hash: reference }, `Chunk Missing (unavailable on the node): ${reference}`);
  } else if (Array.isArray(reference) && (typeof reference[0] === 'number' || typeof reference[0] === 'string')) {
    if (reference[1] !== 0) throw new RpcHandlerError('INVALID_SHARD_ID', { shard_id: reference[1] }, `Shard id ${String(reference[1])} does not exist`);
    block = chain.resolveBlock({ block_id: reference[0] });
  } else {
    throw new ParamsError('a chunk is asked for by chunk hash, or by block id and shard id');
  }
  return {
    author: validatorId,
    header: chunkHeader(block),
    transactions: block.transactions.map(transactionView),
    receipts: block.receipts.map(receiptView),
  };
}

export function statusView(chain: NearChain, rpcAddress: string, startedAtMs: number): Record<string, unknown> {
  const head = chain.head;
  const time = (block: Block) => new Date(Number(block.timestampNs / 1_000_000n)).toISOString();
  return {
    chain_id: chain.chainId,
    genesis_hash: chain.genesis.hash,
    latest_protocol_version: protocolVersion,
    protocol_version: protocolVersion,
    node_public_key: `ed25519:${hashBase58('node', chain.genesis.hash)}`,
    rpc_addr: rpcAddress,
    validators: [{ account_id: validatorId }],
    version: { version: 'coffer-near-devnet', build: 'devnet' },
    uptime_sec: Math.floor((Date.now() - startedAtMs) / 1000),
    sync_info: {
      latest_block_hash: head.hash,
      latest_block_height: head.height,
      latest_state_root: emptyHash,
      latest_block_time: time(head),
      syncing: false,
      earliest_block_hash: chain.genesis.hash,
      earliest_block_height: chain.genesis.height,
      earliest_block_time: time(chain.genesis),
      epoch_id: emptyHash,
      epoch_start_height: chain.genesis.height,
    },
  };
}

export function protocolConfigView(chain: NearChain): Record<string, unknown> {
  return {
    chain_id: chain.chainId,
    protocol_version: protocolVersion,
    genesis_height: chain.genesis.height,
    min_gas_price: gasPriceYocto.toString(),
    max_gas_price: gasPriceYocto.toString(),
    transaction_validity_period: 86_400,
    runtime_config: { storage_amount_per_byte: storageYoctoPerByte.toString() },
  };
}

/** `query`: view_account, view_access_key, view_access_key_list, view_code and call_function. */
export function queryView(chain: NearChain, params: unknown): Record<string, unknown> {
  const query = record(params);
  const block = chain.resolveBlock(query);
  const at = { block_hash: block.hash, block_height: block.height };
  const accountId = query.account_id;
  if (typeof accountId !== 'string') throw new ParamsError('account_id is required');
  const account = chain.stateAt(block).get(accountId);
  if (!account) throw new RpcHandlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at }, `account ${accountId} does not exist while viewing`);
  switch (query.request_type) {
    case 'view_account':
      return { ...accountView(account), ...at };
    case 'view_access_key': {
      const publicKey = query.public_key;
      const key = typeof publicKey === 'string' ? account.keys.get(publicKey) : undefined;
      if (!key) throw new RpcHandlerError('UNKNOWN_ACCESS_KEY', { public_key: publicKey, ...at }, `access key ${String(publicKey)} does not exist while viewing`);
      return { nonce: Number(key.nonce), permission: permissionView(key.permission), ...at };
    }
    case 'view_access_key_list':
      return {
        keys: [...account.keys].map(([publicKey, key]) => ({ public_key: publicKey, access_key: { nonce: Number(key.nonce), permission: permissionView(key.permission) } })),
        ...at,
      };
    case 'view_code':
    case 'call_function': {
      const contract = account.contract === null ? undefined : chain.contract(account.contract);
      if (!contract) throw new RpcHandlerError('NO_CONTRACT_CODE', { contract_account_id: accountId, ...at }, `Contract code for contract ID ${accountId} has never been observed on the node`);
      if (query.request_type === 'view_code') return { code_base64: Buffer.from(`devnet contract ${contract.name}`).toString('base64'), hash: accountView(account).code_hash, ...at };
      return callView(query, contract, account.storage, accountId, at);
    }
    default:
      throw new ParamsError(`request_type ${String(query.request_type)} is not served by the NEAR devnet`);
  }
}

function callView(query: Record<string, unknown>, contract: DevnetContract, storage: Map<string, string>, accountId: string, at: { block_hash: string; block_height: number }): Record<string, unknown> {
  const methodName = query.method_name;
  if (typeof methodName !== 'string') throw new ParamsError('method_name is required');
  const contractError = (error: unknown, vmError: string) => new RpcHandlerError('CONTRACT_EXECUTION_ERROR', { error, vm_error: vmError, ...at }, vmError);
  const method = contract.methods[methodName];
  if (!method) throw contractError({ MethodResolveError: 'MethodNotFound' }, 'wasm execution failed with error: MethodResolveError(MethodNotFound)');
  if (!method.view) throw contractError({ HostError: { ProhibitedInView: { method_name: methodName } } }, `wasm execution failed with error: HostError(ProhibitedInView { method_name: "${methodName}" })`);
  const argsBase64 = typeof query.args_base64 === 'string' ? query.args_base64 : '';
  const argsText = Buffer.from(argsBase64, 'base64').toString('utf8');
  const logs: string[] = [];
  const context: ContractContext = {
    contractId: accountId,
    predecessorId: accountId,
    signerId: accountId,
    attachedDeposit: 0n,
    prepaidGas: 0n,
    blockHeight: at.block_height,
    // A copy: a view cannot write, whatever the method does.
    storage: new Map(storage),
    promiseResults: [],
    isView: true,
    log: (line) => logs.push(line),
    transfer: () => {
      throw new ContractPanic('a view cannot transfer');
    },
  };
  try {
    let args: unknown = {};
    if (argsText.length > 0) {
      try {
        args = JSON.parse(argsText) as unknown;
      } catch {
        throw new ContractPanic('Failed to deserialize input from JSON.');
      }
    }
    const returned = method.run(args, context);
    return { result: returned === undefined ? [] : [...jsonBytes(returned)], logs, ...at };
  } catch (error) {
    if (!(error instanceof ContractPanic)) throw error;
    throw contractError({ HostError: { GuestPanic: { panic_msg: error.message } } }, `wasm execution failed with error: HostError(GuestPanic { panic_msg: "${error.message}" })`);
  }
}

/** `EXPERIMENTAL_changes` / `changes` for `account_changes`: the account after each change in the block. */
export function changesView(chain: NearChain, params: unknown): Record<string, unknown> {
  const query = record(params);
  if (query.changes_type !== 'account_changes') throw new ParamsError(`changes_type ${String(query.changes_type)} is not served by the NEAR devnet (account_changes is)`);
  if (!Array.isArray(query.account_ids)) throw new ParamsError('account_ids must be an array');
  const wanted = new Set(query.account_ids as unknown[]);
  const block = chain.resolveBlock(query);
  return {
    block_hash: block.hash,
    changes: block.changes
      .filter((change) => wanted.has(change.accountId))
      .map((change) => ({ cause: change.cause, type: 'account_update', change: { account_id: change.accountId, ...change.view } })),
  };
}

/** `EXPERIMENTAL_changes_in_block`: which accounts the block touched. */
export function changesInBlockView(chain: NearChain, params: unknown): Record<string, unknown> {
  const block = chain.resolveBlock(record(params));
  const touched = [...new Set(block.changes.map((change) => change.accountId))];
  return { block_hash: block.hash, changes: touched.map((accountId) => ({ type: 'account_touched', account_id: accountId })) };
}
