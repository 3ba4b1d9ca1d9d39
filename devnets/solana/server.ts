// JSON-RPC 2.0 over HTTP on loopback: single and batch requests, Solana's error objects, and
// u64 numbers written exactly (bigints go out as JSON integers, as agave writes them).
import { createServer, type Server } from 'node:http';
import { RpcError, rpcErrorCode } from './errors.ts';
import type { Method } from './methods.ts';

const requestBytesMax = 5 * 1024 * 1024;
const batchRequestsMax = 1_000;

// JSON.rawJSON is in Node 24 (V8 11.4+) but not yet in TypeScript's es2024 lib.
const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

interface Request {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

function errorBody(id: unknown, code: number, message: string, data?: unknown) {
  return { error: data === undefined ? { code, message } : { code, data, message }, id: id ?? null, jsonrpc: '2.0' };
}

function answer(methods: Record<string, Method>, request: Request) {
  if (typeof request !== 'object' || request === null || typeof request.method !== 'string') {
    return errorBody(null, rpcErrorCode.invalidRequest, 'Invalid request');
  }
  const method = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
  if (!method) return errorBody(request.id, rpcErrorCode.methodNotFound, 'Method not found');
  const params = request.params ?? [];
  if (!Array.isArray(params)) return errorBody(request.id, rpcErrorCode.invalidParams, 'Invalid params: params must be an array');
  try {
    return { id: request.id ?? null, jsonrpc: '2.0', result: method(params) };
  } catch (error) {
    if (error instanceof RpcError) return errorBody(request.id, error.code, error.message, error.data);
    return errorBody(request.id, rpcErrorCode.internal, `Internal error: ${(error as Error).message}`);
  }
}

export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? rawJson(field.toString()) : field));
}

export function createRpcServer(methods: Record<string, Method>): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(stringify(body));
    };
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > requestBytesMax) {
        reply(413, errorBody(null, rpcErrorCode.invalidRequest, `request larger than ${requestBytesMax} bytes`));
        request.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => {
      if (response.headersSent) return;
      if (request.method !== 'POST') return reply(405, errorBody(null, rpcErrorCode.invalidRequest, 'use POST'));
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(200, errorBody(null, rpcErrorCode.parse, 'Parse error'));
      }
      if (!Array.isArray(body)) return reply(200, answer(methods, body as Request));
      if (body.length === 0 || body.length > batchRequestsMax) return reply(200, errorBody(null, rpcErrorCode.invalidRequest, 'Invalid request'));
      return reply(200, body.map((entry: Request) => answer(methods, entry)));
    });
  });
}
