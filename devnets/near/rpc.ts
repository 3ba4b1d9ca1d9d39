// The NEAR devnet's JSON-RPC over HTTP on loopback: method dispatch, nearcore's error envelope,
// and the waits of `send_tx` / `tx` (`wait_until`), which either watch blocks go by or, in
// on-demand mode, produce blocks until the transaction is final.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTransaction, UnsupportedActionError } from './encoding.ts';
import { NearChain, RpcHandlerError, receiptView, type TxExecutionStatus } from './chain.ts';
import { ParamsError, blockView, changesInBlockView, changesView, chunkView, protocolConfigView, queryView, record, statusView } from './views.ts';
import { gasPriceYocto } from './state.ts';

const requestBytesMax = 4 * 1024 * 1024;
/** On-demand mode drives a transaction to finality in at most this many blocks, or something is wrong. */
const onDemandBlocksMax = 64;
const waitStatuses: TxExecutionStatus[] = ['NONE', 'INCLUDED', 'EXECUTED_OPTIMISTIC', 'INCLUDED_FINAL', 'EXECUTED', 'FINAL'];

export interface RpcOptions {
  chain: NearChain;
  onDemand: boolean;
  /** How long `send_tx` / `tx` wait before nearcore's TIMEOUT_ERROR. */
  txWaitTimeoutMs: number;
}

class MethodNotFound extends Error {
  override name = 'MethodNotFound';
}

export class NearRpc {
  private readonly chain: NearChain;
  private readonly onDemand: boolean;
  private readonly txWaitTimeoutMs: number;
  private readonly startedAtMs = Date.now();
  private server: Server | undefined;
  private address = '';

  constructor(options: RpcOptions) {
    this.chain = options.chain;
    this.onDemand = options.onDemand;
    this.txWaitTimeoutMs = options.txWaitTimeoutMs;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((request, response) => {
      void this.answer(request).then((body) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    this.address = `${host}:${bound}`;
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage): Promise<string> {
    let id: unknown = null;
    try {
      const text = await readBody(request);
      let message: { id?: unknown; method?: unknown; params?: unknown };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        throw new ParamsError('the request is not JSON');
      }
      id = message.id ?? null;
      const result = await this.call(String(message.method), message.params ?? []);
      return JSON.stringify({ jsonrpc: '2.0', id, result });
    } catch (error) {
      return JSON.stringify({ jsonrpc: '2.0', id, error: errorBody(error) });
    }
  }

  private async call(method: string, params: unknown): Promise<unknown> {
    const chain = this.chain;
    switch (method) {
      case 'status':
        return statusView(chain, this.address, this.startedAtMs);
      case 'health':
        return null;
      case 'block':
        return blockView(chain, chain.resolveBlock(blockReference(params)));
      case 'chunk':
        return chunkView(chain, params);
      case 'gas_price': {
        const reference: unknown = Array.isArray(params) ? params[0] : record(params).block_id;
        if (reference !== null && reference !== undefined) chain.resolveBlock({ block_id: reference });
        return { gas_price: gasPriceYocto.toString() };
      }
      case 'query':
        return queryView(chain, params);
      case 'EXPERIMENTAL_changes':
      case 'changes':
        return changesView(chain, params);
      case 'EXPERIMENTAL_changes_in_block':
      case 'block_effects':
        return changesInBlockView(chain, params);
      case 'EXPERIMENTAL_protocol_config':
        return protocolConfigView(chain);
      case 'EXPERIMENTAL_receipt': {
        const receiptId = record(params).receipt_id;
        const receipt = typeof receiptId === 'string' ? chain.receipt(receiptId) : undefined;
        if (!receipt) throw new RpcHandlerError('UNKNOWN_RECEIPT', { receipt_id: receiptId }, `Receipt with id ${String(receiptId)} has never been observed on this node`);
        return receiptView(receipt);
      }
      case 'send_tx': {
        const { signed_tx_base64: signed, wait_until: waitUntil } = record(params);
        return this.send(signed, waitStatus(waitUntil ?? 'EXECUTED_OPTIMISTIC'));
      }
      case 'broadcast_tx_commit':
        return this.send(Array.isArray(params) ? params[0] : undefined, 'EXECUTED_OPTIMISTIC');
      case 'broadcast_tx_async':
        return this.accept(Array.isArray(params) ? params[0] : undefined);
      case 'tx':
      case 'EXPERIMENTAL_tx_status': {
        const withReceipts = method === 'EXPERIMENTAL_tx_status';
        if (Array.isArray(params)) return this.status(String(params[0]), 'EXECUTED_OPTIMISTIC', withReceipts);
        const query = record(params);
        const waitUntil = waitStatus(query.wait_until ?? 'EXECUTED_OPTIMISTIC');
        if (typeof query.signed_tx_base64 === 'string') return this.status(decode(query.signed_tx_base64).hash, waitUntil, withReceipts);
        if (typeof query.tx_hash !== 'string') throw new ParamsError('tx_hash is required');
        return this.status(query.tx_hash, waitUntil, withReceipts);
      }
      default:
        throw new MethodNotFound(method);
    }
  }

  /** Validates and queues a transaction; returns its hash. */
  private accept(signed: unknown): string {
    if (typeof signed !== 'string') throw new ParamsError('a signed transaction in base64 is required');
    const tx = decode(signed);
    this.chain.submit(tx);
    if (this.onDemand) this.driveToFinal(tx.hash);
    return tx.hash;
  }

  private async send(signed: unknown, waitUntil: TxExecutionStatus): Promise<unknown> {
    const hash = this.accept(signed);
    if (waitUntil === 'NONE') return { final_execution_status: 'NONE' };
    return this.status(hash, waitUntil, false);
  }

  private driveToFinal(hash: string): void {
    for (let produced = 0; ; produced += 1) {
      const record = this.chain.transaction(hash);
      if (this.chain.droppedError(hash) || (record && this.chain.executionStatus(record) === 'FINAL')) return;
      if (produced >= onDemandBlocksMax) throw new Error(`transaction ${hash} was not final after ${onDemandBlocksMax} blocks`);
      this.chain.produceBlock();
    }
  }

  /** Waits until the transaction reaches `waitUntil`, then answers as `tx` does. */
  private async status(hash: string, waitUntil: TxExecutionStatus, withReceipts: boolean): Promise<unknown> {
    const deadline = Date.now() + this.txWaitTimeoutMs;
    for (;;) {
      const dropped = this.chain.droppedError(hash);
      if (dropped) throw dropped;
      const found = this.chain.transaction(hash);
      if (!found && !this.chain.isPending(hash)) return this.chain.finalOutcome(hash, withReceipts);
      if (found && NearChain.reached(this.chain.executionStatus(found), waitUntil)) return this.chain.finalOutcome(hash, withReceipts);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new RpcHandlerError('TIMEOUT_ERROR', {}, null, 'Timeout');
      await this.nextBlock(remainingMs);
    }
  }

  private nextBlock(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const unsubscribe = this.chain.onBlock(finish);
      function finish() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }
}

function decode(signed: string) {
  try {
    return decodeTransaction(signed);
  } catch (error) {
    if (error instanceof UnsupportedActionError) throw new ParamsError(error.message);
    throw new ParamsError('signed_tx_base64 is not a borsh-serialized signed transaction');
  }
}

function waitStatus(value: unknown): TxExecutionStatus {
  if (!waitStatuses.includes(value as TxExecutionStatus)) throw new ParamsError(`wait_until must be one of ${waitStatuses.join(', ')}`);
  return value as TxExecutionStatus;
}

function blockReference(params: unknown): { block_id?: unknown; finality?: unknown } {
  if (Array.isArray(params)) return { block_id: params[0] };
  const reference = record(params);
  // near-api-js sends both keys, one of them undefined (dropped by JSON), so either may be missing.
  return reference.block_id !== undefined && reference.block_id !== null ? { block_id: reference.block_id } : { finality: reference.finality ?? 'optimistic' };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > requestBytesMax) {
        reject(new ParamsError(`a request is at most ${requestBytesMax} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** nearcore's error envelope, which near-api-js's parseRpcError reads. */
function errorBody(error: unknown): Record<string, unknown> {
  if (error instanceof RpcHandlerError) {
    return { name: 'HANDLER_ERROR', cause: { name: error.causeName, info: error.info }, code: -32000, message: 'Server error', data: error.data ?? error.message };
  }
  if (error instanceof MethodNotFound) {
    return { name: 'REQUEST_VALIDATION_ERROR', cause: { name: 'METHOD_NOT_FOUND', info: { method_name: error.message } }, code: -32601, message: 'Method not found', data: error.message };
  }
  if (error instanceof ParamsError) {
    return { name: 'REQUEST_VALIDATION_ERROR', cause: { name: 'PARSE_ERROR', info: { error_message: error.message } }, code: -32700, message: 'Parse error', data: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'INTERNAL_ERROR', cause: { name: 'INTERNAL_ERROR', info: { error_message: message } }, code: -32000, message: 'Server error', data: message };
}
