// The API's front door: build the app, or serve it.
import { serve, type ServerType } from '@hono/node-server';
import type { ApiDependencies } from './context.ts';
import { createApp } from './app.ts';

export { createApp } from './app.ts';
export type { ApiDependencies } from './context.ts';

/** Binds `hostname` (loopback unless told otherwise); `address` and `port` are what was actually bound. */
export function startApiServer(deps: ApiDependencies, options: { port: number; hostname?: string }): Promise<{ server: ServerType; address: string; port: number }> {
  const app = createApp(deps);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname ?? '127.0.0.1' }, (info) => resolve({ server, address: info.address, port: info.port }));
    server.once('error', reject);
  });
}
