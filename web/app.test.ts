// The deposit page in headless Chromium, fed by the real pipeline: anvil, the EVM indexer and the
// workers in their own `coffer` processes (as jobs/pipeline.test.ts runs them), the Hermes
// replay for prices, and the page and the projection follower in-process (as `coffer start`). A user signs in, reads the QR code of their
// address back from the screen, and watches an ETH deposit go pending → confirmed → credited →
// swept without reloading the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { createApiKey } from '../access/index.ts';
import { startApiServer } from '../api/index.ts';
import { startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { createEvmWorld, eventually, type EvmWorld, type IndexerProcess } from '../testing/evm-world.ts';
import { LedgerWriter, ProjectionFollower } from '../ledger/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../signer/index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../users/index.ts';
import { launchBrowser, readQrCode, saveScreenshot, screenshotDirectory } from './browser.ts';

const passphrase = 'web-test-passphrase';
const finalityDepth = 2;
let world: EvmWorld;
let hermes: HermesReplay;
let keystoreDir: string;
let derivation: DerivationSettings;
let writer: LedgerWriter;
let follower: ProjectionFollower;
let server: ServerType;
let base: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let shots: string;
let processes: IndexerProcess[] = [];
let redisPrefix: string;
let userKey: string;
let userId: string;

before(async () => {
  keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-web-'));
  const emulator = await ChainSignaturesEmulator.open(new Keystore({ directory: keystoreDir, passphrase, kdf: { m: 256, t: 1, p: 1 } }));
  // Addresses derive from the emulator's roots so the workers can sign the sweep.
  derivation = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } };
  world = await createEvmWorld({ finalityDepth, derivation });
  hermes = await startHermesReplay();
  redisPrefix = `${world.db.name}:`;
  const env = {
    REDIS_KEY_PREFIX: redisPrefix,
    HERMES_URL: hermes.url,
    EVM_TREASURY_ADDRESS: world.anvil.accounts[8]!,
    SWEEP_CONFIRMATIONS: '1',
    JOB_BACKOFF_MS: '200',
    OUTBOX_POLL_INTERVAL_MS: '200',
    COFFER_KEYSTORE_DIR: keystoreDir,
    COFFER_KEYSTORE_PASSPHRASE: passphrase,
    LOG_LEVEL: 'warn',
  };
  processes = [world.startIndexer(env), world.startCoffer(['start', '--workers'], env)];
  writer = new LedgerWriter({ pool: world.db.pool });
  // The deposit view is a projection; `coffer start` follows it in the API process, as here.
  follower = new ProjectionFollower({ pool: world.db.pool, pollIntervalMs: 200 });
  await follower.start();
  const started = await startApiServer({ pool: world.db.pool, writer, logger: silentLogger, derivation }, { port: 0 });
  server = started.server;
  base = `http://127.0.0.1:${started.port}`;
  ({ browser, close: closeBrowser } = await launchBrowser());
  shots = await screenshotDirectory();
  const user = await createUser(world.db.pool, { nearAccountId: 'ada.testnet' });
  userId = user.id;
  userKey = (await createApiKey(world.db.pool, { role: 'user', userId: user.id })).key;
});

after(async () => {
  if (shots) console.info(`deposit page screenshots: ${shots}`);
  await closeBrowser?.();
  server?.close();
  await follower?.stop();
  await writer?.close();
  await hermes?.stop();
  await world?.close();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  if (keystoreDir) await rm(keystoreDir, { recursive: true, force: true });
});

const logs = () => processes.map((p) => p.output().slice(-3_000)).join('\n---\n');

/** Waits for the page (not the test) to show `selector`, with the pipeline's logs if it never does. */
async function shows(page: Page, what: string, selector: string, timeoutMs = 60_000): Promise<void> {
  await page.waitForSelector(selector, { timeout: timeoutMs }).catch(async (error: unknown) => {
    const shown = await page.locator('#deposits').innerHTML();
    const { rows } = await world.db.pool.query('SELECT entry_id::text, status, block_height::text FROM deposits');
    const cursors = await world.db.pool.query('SELECT indexer, processed_height::text, chain_head::text FROM indexer_cursors');
    throw new Error(
      `the page never showed ${what} (${selector}) within ${timeoutMs} ms\n${String(error)}\npage: ${shown}\ndeposits: ${JSON.stringify(rows)} cursors: ${JSON.stringify(cursors.rows)}\n${logs()}`,
    );
  });
}

/** Mines a block a second (confirmations come only from blocks) until the page shows `selector`. */
async function whileMining(page: Page, what: string, selector: string, timeoutMs = 90_000): Promise<void> {
  let shown = '';
  await eventually(
    what,
    async () => {
      if ((await page.locator(selector).count()) > 0) return true;
      shown = await page.locator('#deposits').innerHTML();
      await world.mine(1);
      return false;
    },
    timeoutMs,
    () => `the page showed: ${shown}\n${logs()}`,
    1_000,
  );
}

describe('the deposit page', () => {
  test('a user signs in, scans the address, and watches an ETH deposit confirm, credit and sweep without a reload', async () => {
    const page = await (await browser.newContext()).newPage();
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.goto(`${base}/app`);
    assert.equal(new URL(page.url()).pathname, '/app/sign-in');
    await saveScreenshot(page, shots, 'app-sign-in', { forDocs: true });
    await page.getByRole('textbox', { name: /API key/ }).fill(userKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/app`);

    const address = await getDepositAddress(world.db.pool, userId, 'ethereum', derivation);
    assert.equal(await page.locator('[data-address]').innerText(), address.address);
    assert.equal(await readQrCode(page.locator('[data-qr] svg')), address.uri, 'the QR code says the payment URI');
    assert.equal(await page.getByRole('button', { name: 'Copy address' }).isVisible(), true, 'the copy button appears with JavaScript');

    // Every chain the deposit-address API serves is a link; another chain's QR reads back too.
    await page.getByRole('link', { name: 'bitcoin' }).click();
    await page.waitForURL(/chain=bitcoin/);
    const bitcoin = await getDepositAddress(world.db.pool, userId, 'bitcoin', derivation);
    assert.equal(await readQrCode(page.locator('[data-qr] svg')), bitcoin.uri);
    await page.getByRole('link', { name: 'ethereum' }).click();
    await page.waitForURL(/chain=ethereum/);

    const loadedAt = navigations;
    await world.sendEth(address.address as `0x${string}`, 4n * 10n ** 17n);
    await shows(page, 'the deposit pending with 1 of 2 confirmations', 'tr[data-status=pending] [data-confirmations="1"]');
    await saveScreenshot(page, shots, 'app-pending');

    await whileMining(page, 'the deposit confirmed and credited', 'tr[data-status=confirmed][data-credit=credited]');
    const choco = await page.locator('[data-choco]').getAttribute('data-choco');
    assert.ok(BigInt(choco!) > 0n, `CHOCO credited: ${choco}`);
    await whileMining(page, 'the deposit swept to the treasury', 'tr[data-sweep=confirmed]');
    assert.equal(navigations, loadedAt, 'the page never reloaded');
    await saveScreenshot(page, shots, 'app', { forDocs: true });

    // Without JavaScript a plain reload shows the same.
    const plain = await (await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() })).newPage();
    await plain.goto(`${base}/app`);
    assert.equal(await plain.locator('tr[data-status=confirmed][data-credit=credited][data-sweep=confirmed]').count(), 1);
    assert.equal(await plain.locator('[data-choco]').getAttribute('data-choco'), choco);
    await plain.context().close();
    await page.context().close();
  });
});
