// A local Hermes-compatible HTTP server for tests and the demo: the product's Pyth code path
// (credits/prices.ts, @pythnetwork/hermes-client) runs unchanged against it; only HERMES_URL
// differs. It serves the v2 REST calls coffer makes — /v2/updates/price/latest,
// /v2/updates/price/{publish_time}, /v2/price_feeds — from the series in hermes-series.json,
// replayed onto the current clock (one update per second, cyclically), so a price asked for
// any recent time exists, as it does on the real service.
//
// Tests steer it to misbehave the way the real network can: `misbehave({ staleSeconds })`
// publishes prices that far after the time asked for, `misbehave({ confBps })` widens the
// confidence interval. Both are also reachable over HTTP (POST /__replay/misbehave) for
// processes that only know the URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { freePort, localUrl, loopback, type DevnetListen } from './ports.ts';

interface Series {
  expo: number;
  feeds: { id: string; symbol: string; updates: [string, string][] }[];
}

export interface Misbehaviour {
  /** Publish every price this many seconds after the time asked for. */
  staleSeconds?: number;
  /** Serve a confidence interval of this many basis points of the price. */
  confBps?: number;
}

export interface HermesReplay {
  url: string;
  /** Requests served, by path kind, for tests that want to see the product asked. */
  requests: { latest: number; atTimestamp: number; feeds: number };
  misbehave(how: Misbehaviour): void;
  stop(): Promise<void>;
}

const series = JSON.parse(readFileSync(new URL('./hermes-series.json', import.meta.url), 'utf8')) as Series;

function parsedUpdate(feed: Series['feeds'][number], publishTime: number, how: Misbehaviour) {
  const [price, conf] = feed.updates[publishTime % feed.updates.length]!;
  const wideConf = how.confBps !== undefined ? ((BigInt(price) * BigInt(how.confBps)) / 10_000n).toString() : conf;
  const at = publishTime + (how.staleSeconds ?? 0);
  const entry = { price, conf: wideConf, expo: series.expo, publish_time: at };
  return {
    id: feed.id,
    price: entry,
    ema_price: entry,
    metadata: { slot: null, proof_available_time: at + 1, prev_publish_time: at - 1 },
  };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function startHermesReplay(options: DevnetListen = {}): Promise<HermesReplay> {
  let how: Misbehaviour = {};
  const requests = { latest: 0, atTimestamp: 0, feeds: 0 };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === '/__replay/misbehave') {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      how = JSON.parse(body || '{}') as Misbehaviour;
      return answer(response, 200, how);
    }
    if (request.method !== 'GET') return answer(response, 405, { message: 'method not allowed' });
    if (url.pathname === '/v2/price_feeds') {
      requests.feeds += 1;
      const query = (url.searchParams.get('query') ?? '').toLowerCase();
      return answer(
        response,
        200,
        series.feeds
          .filter((feed) => feed.symbol.toLowerCase().includes(query))
          .map((feed) => {
            const [base, quote] = feed.symbol.replace('Crypto.', '').split('/');
            return { id: feed.id, attributes: { asset_type: 'Crypto', base, quote_currency: quote, symbol: feed.symbol, description: `${base} / ${quote}` } };
          }),
      );
    }
    const match = /^\/v2\/updates\/price\/(latest|\d+)$/.exec(url.pathname);
    if (!match) return answer(response, 404, { message: `no route ${url.pathname}` });
    const ids = url.searchParams.getAll('ids[]').map((id) => id.replace(/^0x/, '').toLowerCase());
    const feeds = ids.map((id) => series.feeds.find((feed) => feed.id === id));
    const missing = ids.filter((_, i) => !feeds[i]);
    // Hermes' own answer to an unknown id.
    if (ids.length === 0 || missing.length > 0) return answer(response, 404, { message: `Price ids not found: ${missing.join(', ') || '(none given)'}` });
    let publishTime: number;
    if (match[1] === 'latest') {
      requests.latest += 1;
      publishTime = Math.floor(Date.now() / 1000);
    } else {
      requests.atTimestamp += 1;
      publishTime = Number(match[1]);
    }
    const parsed = feeds.map((feed) => parsedUpdate(feed!, publishTime, how));
    // Not a verifiable Wormhole VAA: coffer reads only the parsed prices.
    const binary = createHash('sha256').update(JSON.stringify(parsed)).digest('hex');
    return answer(response, 200, { binary: { encoding: 'hex', data: [binary] }, ...(url.searchParams.get('parsed') === 'false' ? {} : { parsed }) });
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => answer(response, 500, { message: String(error) }));
  });
  const port = options.port ?? (await freePort());
  const host = options.host ?? loopback;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    url: localUrl(host, port),
    requests,
    misbehave(next) {
      how = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
