// GET /relayers/self/txs: a burst of 60 concurrent sends (many share a millisecond, and their
// creation order is not their nonce order), paged 7 at a time in both sorts, through the HTTP
// API and through the official Defender client: every transaction exactly once, in nonce
// order, the last page without `next`. A cursor this API did not return is a 400. Then the
// relayer's key is rotated and the new key sends 12 more, with the nonces 0–11 the old key also
// has: paging still lists every transaction once, the old key's before the new key's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relayer as DefenderRelayer } from '@openzeppelin/defender-sdk-relay-signer-client';
import type { Address } from 'viem';
import { eventually } from '../testing/evm-world.ts';
import { createRelayBed, type RelayBed } from '../testing/relay-bed.ts';
import { startRelayerKeyRotation } from './key-rotation.ts';
import { refillPass } from './refills.ts';

const burst = 60;
const pageLimit = 7;
/** Enough pages for the burst and one more: a paging that loops forever fails here instead. */
const pagesMax = Math.ceil(burst / pageLimit) + 1;
const recipient: Address = '0x00000000000000000000000000000000000c0ffe';

let bed: RelayBed;
let headers: Record<string, string> = {};

type Tx = { transactionId: string; nonce: number; from: string };
type Page = { items: Tx[]; next?: string };

before(async () => {
  bed = await createRelayBed();
  process.env.DEFENDER_API_URL = `${bed.url}/`;
  const login = await fetch(`${bed.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiKey: bed.apiKey, secretKey: bed.apiSecret, type: 'relay' }) });
  assert.equal(login.status, 200, 'login');
  const { accessToken } = (await login.json()) as { accessToken: string };
  headers = { 'Content-Type': 'application/json', 'X-Api-Key': bed.apiKey, Authorization: `Bearer ${accessToken}` };
  const sends = Array.from({ length: burst }, async (_, i) => {
    const response = await fetch(`${bed.url}/relayers/self/txs`, { method: 'POST', headers, body: JSON.stringify({ to: recipient, value: `0x${(i + 1).toString(16)}`, speed: 'fast', gasLimit: 21_000 }) });
    assert.equal(response.status, 200, `send ${i}: ${await response.clone().text()}`);
    return (await response.json()) as Tx;
  });
  const sent = await Promise.all(sends);
  assert.deepEqual(sent.map((t) => t.nonce).sort((a, b) => a - b), Array.from({ length: burst }, (_, i) => i), 'the burst took nonces 0..59');
});

after(async () => {
  await bed?.close();
});

const txs = (query: string) => fetch(`${bed.url}/relayers/self/txs?${query}`, { headers });

/** Follows `next` until a page has none; fails if that takes more than `pagesMax` pages. */
async function allPages(fetchPage: (next: string | undefined) => Promise<Page>, pagesMaxHere = pagesMax): Promise<Page[]> {
  const pages: Page[] = [];
  let next: string | undefined;
  do {
    if (pages.length === pagesMaxHere) assert.fail(`paging did not end after ${pagesMax} pages of ${pageLimit}; nonces so far ${pages.flatMap((p) => p.items.map((t) => t.nonce)).join(',')}`);
    const page = await fetchPage(next);
    pages.push(page);
    next = page.next;
  } while (next !== undefined);
  return pages;
}

function assertEveryTransactionOnce(pages: Page[], sort: 'asc' | 'desc'): void {
  const nonces = pages.flatMap((p) => p.items.map((t) => t.nonce));
  const ascending = Array.from({ length: burst }, (_, i) => i);
  assert.deepEqual(nonces, sort === 'asc' ? ascending : ascending.reverse(), `${sort}: every nonce once, in nonce order`);
  assert.equal(new Set(pages.flatMap((p) => p.items.map((t) => t.transactionId))).size, burst, 'every transaction once');
  assert.equal(pages.length, Math.ceil(burst / pageLimit));
  for (const page of pages.slice(0, -1)) assert.equal(page.items.length, pageLimit);
  assert.equal(pages.at(-1)!.next, undefined, 'the last page has no next');
  assert.ok(!('next' in pages.at(-1)!), 'the last page carries no next field at all');
}

describe('paging the relayer transactions', () => {
  for (const sort of ['asc', 'desc'] as const) {
    test(`HTTP, sort=${sort}, pages of ${pageLimit}`, async () => {
      const pages = await allPages(async (next) => {
        const response = await txs(`usePagination=true&limit=${pageLimit}&sort=${sort}${next ? `&next=${encodeURIComponent(next)}` : ''}`);
        assert.equal(response.status, 200, await response.clone().text());
        return (await response.json()) as Page;
      });
      assertEveryTransactionOnce(pages, sort);
    });

    test(`the official Defender client, sort=${sort}, pages of ${pageLimit}`, async () => {
      // As Defender's README writes it; the SDK's typings demand an authConfig its code defaults.
      const client = new DefenderRelayer({ apiKey: bed.apiKey, apiSecret: bed.apiSecret } as ConstructorParameters<typeof DefenderRelayer>[0]);
      const pages = await allPages(async (next) => (await client.listTransactions({ limit: pageLimit, sort, ...(next ? { next } : {}), since: new Date(0) })) as unknown as Page);
      assertEveryTransactionOnce(pages, sort);
    });
  }

  test('without usePagination the answer is a bare array, newest nonce first by default', async () => {
    const response = await txs(`limit=${pageLimit}`);
    assert.equal(response.status, 200);
    const items = (await response.json()) as Tx[];
    assert.ok(Array.isArray(items));
    assert.deepEqual(items.map((t) => t.nonce), Array.from({ length: pageLimit }, (_, i) => burst - 1 - i));
  });

  test('a since after the burst lists nothing and has no next', async () => {
    const response = await txs(`usePagination=true&limit=${pageLimit}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { items: [] });
  });

  test('a next this API did not return is a 400 that says so', async () => {
    const encode = (text: string) => Buffer.from(text).toString('base64url');
    for (const next of ['garbage', '%00', encode('nonce:-1'), encode('nonce:99999999999999999999'), encode('2026-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000'), 'x'.repeat(300)]) {
      const response = await txs(`usePagination=true&limit=${pageLimit}&next=${encodeURIComponent(next)}`);
      assert.equal(response.status, 400, `next=${next.slice(0, 40)}`);
      const problem = (await response.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'invalid_request');
      assert.match(problem.detail, /next/);
    }
  });
});

describe('paging across a relayer key rotation', () => {
  const newSends = 12;
  let oldAddress = '';
  let newAddress = '';
  let total = 0;

  before(async () => {
    oldAddress = bed.relayer.address;
    const started = await startRelayerKeyRotation(bed.db.pool, bed.ctx.keys, bed.relayer.id, { actor: 'test' });
    newAddress = started.newAddress;
    await refillPass(bed.refills);
    await eventually('the old key drained and retired', async () => (await bed.db.pool.query<{ status: string }>('SELECT status FROM relayer_keys WHERE address = $1', [oldAddress])).rows[0]?.status === 'retired', 60_000);
    for (let i = 0; i < newSends; i++) {
      const response = await fetch(`${bed.url}/relayers/self/txs`, { method: 'POST', headers, body: JSON.stringify({ to: recipient, value: `0x${(1_000 + i).toString(16)}`, speed: 'fast', gasLimit: 21_000 }) });
      assert.equal(response.status, 200, await response.clone().text());
      const tx = (await response.json()) as Tx;
      assert.deepEqual([tx.from.toLowerCase(), tx.nonce], [newAddress.toLowerCase(), i], 'the new key signs from nonce 0');
    }
    // The burst, the old key's drain, and the new key's sends.
    total = Number((await bed.db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM relayer_transactions WHERE relayer_id = $1', [bed.relayer.id])).rows[0]!.n);
    assert.equal(total, burst + 1 + newSends);
  });

  /** Every transaction once; the old key's before the new key's (after them in desc); each key's in nonce order. */
  function assertAcrossKeys(pages: Page[], sort: 'asc' | 'desc'): void {
    const items = pages.flatMap((p) => p.items);
    assert.equal(new Set(items.map((t) => t.transactionId)).size, total, 'every transaction once');
    assert.equal(items.length, total, 'none repeated');
    const keyOrder = sort === 'asc' ? [oldAddress, newAddress] : [newAddress, oldAddress];
    const byKey = keyOrder.map((address) => items.filter((t) => t.from.toLowerCase() === address.toLowerCase()).map((t) => t.nonce));
    assert.deepEqual(items.map((t) => t.nonce), byKey.flat(), `${sort}: one key's transactions, then the other's`);
    for (const nonces of byKey) {
      const ascending = Array.from({ length: nonces.length }, (_, i) => i);
      assert.deepEqual(nonces, sort === 'asc' ? ascending : ascending.reverse(), `${sort}: each key's nonces in order, gapless`);
    }
    assert.ok(!('next' in pages.at(-1)!), 'the last page carries no next');
  }

  for (const sort of ['asc', 'desc'] as const) {
    test(`HTTP and the official Defender client, sort=${sort}, pages of ${pageLimit}`, async () => {
      const pagesMaxHere = Math.ceil(total / pageLimit) + 1;
      const http = await allPages(async (next) => {
        const response = await txs(`usePagination=true&limit=${pageLimit}&sort=${sort}${next ? `&next=${encodeURIComponent(next)}` : ''}`);
        assert.equal(response.status, 200, await response.clone().text());
        return (await response.json()) as Page;
      }, pagesMaxHere);
      assertAcrossKeys(http, sort);
      const client = new DefenderRelayer({ apiKey: bed.apiKey, apiSecret: bed.apiSecret } as ConstructorParameters<typeof DefenderRelayer>[0]);
      const sdk = await allPages(async (next) => (await client.listTransactions({ limit: pageLimit, sort, ...(next ? { next } : {}), since: new Date(0) })) as unknown as Page, pagesMaxHere);
      assertAcrossKeys(sdk, sort);
    });
  }
});
