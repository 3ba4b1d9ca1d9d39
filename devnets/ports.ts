import { createServer } from 'node:net';

/**
 * Where a devnet listens: loopback on a free port by default (tests, the demo); a fixed host
 * and port when it serves other containers (`coffer devnet <chain> --host 0.0.0.0 --port N`).
 */
export interface DevnetListen {
  host?: string;
  port?: number;
}

export const loopback = '127.0.0.1';

/** The URL this machine reaches a devnet at: a wildcard bind is reached over loopback. */
export function localUrl(host: string, port: number): string {
  return `http://${host === '0.0.0.0' ? loopback : host}:${port}`;
}

/** A port the OS just handed out on loopback; never a fixed one (8545 may be taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
