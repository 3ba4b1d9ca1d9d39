// Request bodies over the limit answer 413 — and the connection stays usable. Answering before
// the body is read leaves its bytes in the socket: the server then cuts the connection while the
// client is still sending, and the client's next request on it is dropped. So an oversized body
// is read to its end and thrown away (up to drainBytesMax), and only a body larger than that is
// answered with `Connection: close`, which tells the client not to send on this connection again.
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { problemBody } from './problem.ts';

export interface BodyLimitOptions {
  bytesMax: number;
  /** How much of an oversized body is read and discarded to keep the connection alive. */
  drainBytesMax: number;
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, bytesRead: number, drainBytesMax: number): Promise<boolean> {
  let total = bytesRead;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    total += value.byteLength;
    if (total > drainBytesMax) {
      await reader.cancel().catch(() => undefined);
      return false;
    }
  }
}

function tooLarge(c: Context, bytesMax: number, keepAlive: boolean): Response {
  const body = problemBody(413, 'body_too_large', `request bodies are limited to ${bytesMax} bytes`);
  return c.newResponse(JSON.stringify(body), 413, {
    'Content-Type': 'application/problem+json',
    ...(keepAlive ? {} : { Connection: 'close' }),
  });
}

export function bodyLimit({ bytesMax, drainBytesMax }: BodyLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const stream = c.req.raw.body;
    if (!stream) return next();
    const declared = c.req.raw.headers.has('transfer-encoding') ? null : c.req.header('content-length');
    const declaredBytes = declared === null || declared === undefined ? null : Number(declared);
    if (declaredBytes !== null && declaredBytes <= bytesMax) return next();
    if (declaredBytes !== null && declaredBytes > drainBytesMax) {
      await stream.cancel().catch(() => undefined);
      return tooLarge(c, bytesMax, false);
    }
    // No declared length (chunked) or one over the limit: read, keeping at most bytesMax.
    const reader: ReadableStreamDefaultReader<Uint8Array> = stream.getReader();
    const chunks: Uint8Array[] = [];
    let bytesRead = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytesRead += value.byteLength;
      if (bytesRead > bytesMax) return tooLarge(c, bytesMax, await drain(reader, bytesRead, drainBytesMax));
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks) });
    return next();
  };
}

/**
 * Reads what a handler left unread of the request body (a GET with a body, a request refused
 * before its body was parsed), so the next request on the connection starts at a request line.
 * Past drainBytesMax the response says `Connection: close` instead.
 */
export function drainUnreadBody({ drainBytesMax }: Pick<BodyLimitOptions, 'drainBytesMax'>): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const stream = c.req.raw.body;
    let drained = true;
    if (stream && !stream.locked && !c.req.raw.bodyUsed) {
      const reader: ReadableStreamDefaultReader<Uint8Array> = stream.getReader();
      drained = await drain(reader, 0, drainBytesMax);
    } else if (!stream) {
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      if (incoming && !incoming.readableEnded && !incoming.destroyed) drained = await drainIncoming(incoming, drainBytesMax);
    }
    if (!drained) c.res.headers.set('Connection', 'close');
  };
}

async function drainIncoming(incoming: IncomingMessage, drainBytesMax: number): Promise<boolean> {
  let total = 0;
  for await (const chunk of incoming) {
    total += (chunk as Buffer).byteLength;
    if (total > drainBytesMax) return false;
  }
  return true;
}
