// The API's front door: build the app, or serve it.
import { createServer as createHttpsServer } from 'node:https';
import { serve, type ServerType } from '@hono/node-server';
import type { ApiDependencies } from './context.ts';
import { createApp } from './app.ts';

export { createApp } from './app.ts';
export type { ApiDependencies } from './context.ts';
export { domainErrorStatus, statusTable, type ProblemStatus } from './error-codes.ts';

/**
 * Binds `hostname` (loopback unless told otherwise); `address` and `port` are what was actually
 * bound. With `deps.remoteSigner.tls`, the remote signer also listens on its own port over HTTPS,
 * and a client that presents no certificate signed by its CA is refused in the handshake.
 */
export async function startApiServer(
  deps: ApiDependencies,
  options: { port: number; hostname?: string },
): Promise<{ server: ServerType; address: string; port: number; signerTls?: { server: ServerType; port: number } }> {
  const hostname = options.hostname ?? '127.0.0.1';
  const remoteSigner = deps.remoteSigner;
  const tls = remoteSigner?.tls;
  if (!remoteSigner || !tls) return listen({ fetch: createApp(deps).fetch, port: options.port, hostname });
  const signer = await listen({
    fetch: createApp(deps, { listener: 'signer-tls' }).fetch,
    port: tls.port,
    hostname,
    createServer: createHttpsServer,
    serverOptions: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
  });
  try {
    // The API port points signing clients at the port actually bound (port 0 picks one).
    const api = await listen({ fetch: createApp({ ...deps, remoteSigner: { ...remoteSigner, tls: { ...tls, port: signer.port } } }).fetch, port: options.port, hostname });
    return { ...api, signerTls: { server: signer.server, port: signer.port } };
  } catch (error) {
    signer.server.close();
    throw error;
  }
}

function listen(options: Parameters<typeof serve>[0]): Promise<{ server: ServerType; address: string; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve(options, (info) => resolve({ server, address: info.address, port: info.port }));
    server.once('error', reject);
  });
}
