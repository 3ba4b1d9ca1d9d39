// The operator console in headless Chromium against real PostgreSQL, Redis (queue counts) and
// anvil (the gas estimates an agent spend's decision needs): sign-in and its refusals, every
// section, an operator approving an escalated spend, an auditor who cannot, forged forms and an
// expired session refused, sign-out ending the session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerType } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { createApiKey } from '../access/index.ts';
import { startApiServer } from '../api/index.ts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { derivation } from '../testing/evm-world.ts';
import { closeQueues, openQueues, redisConnection, type QueueName } from '../jobs/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser, getDepositAddress } from '../users/index.ts';
import { evmGasEstimator } from '../chains/index.ts';
import { createWallet, decideSpend, getSpend, requestSpend, setPolicy, type WalletKeySettings } from '../wallets/index.ts';
import { launchBrowser, saveScreenshot, screenshotDirectory } from './browser.ts';
import { sessionCookie } from './index.ts';
import type { Queue } from 'bullmq';

let db: TestDatabase;
let writer: LedgerWriter;
let anvil: Anvil;
let server: ServerType;
let base: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let queues: Record<QueueName, Queue>;
let shots: string;
let operatorKey: string;
let auditorKey: string;
let userKey: string;
let adaAddress: string;
const spendIds: string[] = [];
const keys: WalletKeySettings = { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
const milli = 10n ** 15n;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  anvil = await startAnvil();
  queues = openQueues({ connection: redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), prefix: `${db.name}:bull`, attempts: 1, backoffMs: 100 });
  const started = await startApiServer({ pool: db.pool, writer, logger: silentLogger, derivation, queues: Object.values(queues) }, { port: 0 });
  server = started.server;
  base = `http://127.0.0.1:${started.port}`;
  ({ browser, close: closeBrowser } = await launchBrowser());
  shots = await screenshotDirectory();

  operatorKey = (await createApiKey(db.pool, { role: 'operator', name: 'ops-oncall' })).key;
  auditorKey = (await createApiKey(db.pool, { role: 'auditor', name: 'audit' })).key;
  const ada = await createUser(db.pool, { nearAccountId: 'ada.testnet' });
  userKey = (await createApiKey(db.pool, { role: 'user', userId: ada.id })).key;
  adaAddress = (await getDepositAddress(db.pool, ada.id, 'ethereum', derivation)).address;
  await getDepositAddress(db.pool, ada.id, 'bitcoin', derivation);
  await createUser(db.pool, { nearAccountId: 'bo.testnet' });

  // An indexer stopped by a deep reorg, as the deposit core records it.
  await db.pool.query(
    `INSERT INTO indexer_cursors (indexer, chain, height, hash, processed_height, chain_head, chain_head_at, finality_depth, stopped_reason)
     VALUES ('evm', 'ethereum', 90, '0xaa', 100, 104, now(), 12, $1)`,
    [
      'reorg deeper than the finality depth (12 blocks): block 90 was final as 0xaa, but the chain now has 0xbb. Deposits confirmed from the old chain may be gone. ' +
        'The evm indexer stops until an operator rewinds it: coffer indexer rewind --chain evm --to <a block both chains share, e.g. 26> (rewinding further back is safe: deposits in blocks still on the chain are kept).',
    ],
  );

  // An agent wallet whose policy escalates anything above 1 milli-ETH to its owner or an operator.
  const wallet = await createWallet(db.pool, keys, { id: 'agent-1', ownerUserId: ada.id, actor: 'test' });
  await setPolicy(db.pool, 'agent-1', { rules: [{ id: 'big', type: 'per_tx_cap', asset: 'ETH', max: milli.toString(), severity: 'approve', approvalTimeoutSeconds: 3600 }] }, 'test');
  await anvil.rpc('anvil_setBalance', [wallet.address, `0x${(10n ** 19n).toString(16)}`]);
  // Stands for money the EVM indexer saw arrive (wallets/agent.test.ts funds a wallet on chain).
  await writer.append({ kind: 'adjustment', idempotencyKey: 'fund:agent-1', postings: [{ source: 'world:ethereum', destination: 'wallets:agent-1:available', asset: 'ETH', amount: 10n ** 19n }] });
  for (const n of [1, 2, 3]) {
    const { spend } = await requestSpend(db.pool, { walletId: 'agent-1', idempotencyKey: `spend-${n}`, body: { to: anvil.accounts[7]!, asset: 'ETH', amount: (5n * milli).toString() }, requestedBy: 'agent:test' });
    const decided = await decideSpend({ pool: db.pool, writer, logger: silentLogger, estimateGas: evmGasEstimator(anvil.url) }, spend.id);
    assert.equal(decided.spend.status, 'awaiting_approval');
    spendIds.push(spend.id);
  }
});

after(async () => {
  if (shots) console.info(`console screenshots: ${shots}`);
  await closeBrowser?.();
  server?.close();
  if (queues) {
    await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
    await closeQueues(queues);
  }
  await writer?.close();
  await anvil?.stop();
  await db?.drop();
});

async function signIn(key: string, area: 'console' | 'app' = 'console'): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/${area}`);
  assert.equal(new URL(page.url()).pathname, `/${area}/sign-in`, 'a reader without a session is sent to sign in');
  await page.getByRole('textbox', { name: /API key/ }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  return page;
}

const csrfOf = (page: Page) => page.locator('header input[name=_csrf]').inputValue();
const status = async (id: string) => (await getSpend(db.pool, id))!.status;

describe('the operator console', () => {
  test('a wrong key, and a key of the wrong role, are refused without a session', async () => {
    const wrong = await signIn('coffer_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.match(await wrong.getByRole('alert').innerText(), /unknown or revoked/);
    assert.equal(await wrong.getByRole('textbox', { name: /API key/ }).inputValue(), '', 'the key is not echoed back');
    assert.equal((await wrong.context().cookies()).some((c) => c.name === sessionCookie), false);
    await saveScreenshot(wrong, shots, 'sign-in-refused');

    const user = await signIn(userKey);
    assert.match(await user.getByRole('alert').innerText(), /user key cannot sign in here/);
    assert.equal((await user.context().cookies()).some((c) => c.name === sessionCookie), false);
    await wrong.context().close();
    await user.context().close();
  });

  test('an operator sees every section and approves an escalated spend, which proceeds', async () => {
    const page = await signIn(operatorKey);
    assert.equal(new URL(page.url()).pathname, '/console');
    const session = (await page.context().cookies()).find((c) => c.name === sessionCookie)!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    const html = await page.content();
    assert.ok(!html.includes(operatorKey.slice(7)), 'no part of the key secret is in the page');

    for (const heading of ['Indexers', 'Queues', 'Sweeps', 'Refills & treasury', 'Agent spends awaiting approval', 'Users and their deposit addresses', 'Ledger']) {
      assert.equal(await page.getByRole('heading', { name: heading }).count(), 1, heading);
    }
    assert.equal(await page.locator('code[data-rewind=evm]').innerText(), 'coffer indexer rewind --chain evm --to 26');
    assert.equal(await page.locator('tr[data-indexer=evm] td').nth(4).innerText(), '4', 'lag = head − processed');
    assert.equal(await page.getByRole('link', { name: 'Open the queue board' }).getAttribute('href'), '/admin/queues');
    assert.equal(await page.locator('tr[data-asset=ETH] td').nth(2).innerText(), '0', 'the trial balance nets to zero');
    assert.equal(await page.locator('tr[data-spend]').count(), 3);
    await saveScreenshot(page, shots, 'console', { forDocs: true });

    // Search finds a user by any part of an address.
    await page.getByLabel(/Search by user id/).fill(adaAddress.slice(4, 14));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=/);
    assert.equal(await page.locator('tr[data-user]').count(), 1);
    assert.match(await page.locator('tr[data-user]').innerText(), /ada\.testnet[\s\S]*bitcoin[\s\S]*ethereum/);

    await page.getByRole('button', { name: `Approve spend ${spendIds[0]}` }).click();
    await page.waitForURL(`**/console/spends/${spendIds[0]}`);
    assert.equal(await page.locator('[data-spend-status]').getAttribute('data-spend-status'), 'allowed');
    const approved = (await getSpend(db.pool, spendIds[0]!))!;
    assert.equal(approved.status, 'allowed');
    assert.ok(approved.holdEntryId !== null, 'the hold is taken');
    assert.match(approved.decidedBy!, /^operator:/);
    const { rows } = await db.pool.query('SELECT 1 FROM outbox WHERE dedupe_key = $1', [`spend:${spendIds[0]}:execute`]);
    assert.equal(rows.length, 1, 'execution is queued: the spend proceeds');

    await page.goto(`${base}/console#approvals`);
    await page.getByRole('button', { name: `Reject spend ${spendIds[1]}` }).click();
    await page.waitForURL(`**/console/spends/${spendIds[1]}`);
    assert.equal(await status(spendIds[1]!), 'rejected');

    await page.goto(`${base}/console`);
    await page.getByRole('button', { name: 'Verify the ledger' }).click();
    await page.waitForURL(/\/console\/verify/);
    assert.equal(await page.locator('[data-verify]').getAttribute('data-verify'), 'ok');
    await saveScreenshot(page, shots, 'console-verify', { forDocs: true });

    await page.goto(`${base}/console`);
    await page.getByRole('button', { name: /Replay projections/ }).click();
    await page.waitForURL('**/console/projections/replay');
    const differences = await Promise.all((await page.locator('tr[data-projection]').all()).map((row) => row.getAttribute('data-differences')));
    assert.ok(differences.length >= 4 && differences.every((d) => d === '0'), `every projection matches its replay: ${differences.join()}`);
    await saveScreenshot(page, shots, 'console-replay', { forDocs: true });
    await page.context().close();
  });

  test('an auditor sees the approvals without buttons, and a forged approval is refused', async () => {
    const page = await signIn(auditorKey);
    assert.equal(await page.locator(`tr[data-spend="${spendIds[2]}"]`).count(), 1);
    assert.equal(await page.getByRole('button', { name: /Approve spend/ }).count(), 0);
    const token = await csrfOf(page);
    const forged = await page.request.post(`${base}/console/spends/${spendIds[2]}/approve`, { form: { _csrf: token }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /Only operators may do this/);
    assert.equal(await status(spendIds[2]!), 'awaiting_approval');
    await page.context().close();
  });

  test('forged forms and an expired session are refused; signing out ends the session', async () => {
    const page = await signIn(operatorKey);
    const other = await signIn(operatorKey);
    const foreignToken = await csrfOf(other);
    const forgeries: Record<string, string>[] = [{}, { _csrf: 'forged' }, { _csrf: foreignToken }];
    for (const form of forgeries) {
      const response = await page.request.post(`${base}/console/spends/${spendIds[2]}/approve`, { form, maxRedirects: 0 });
      assert.equal(response.status(), 403, JSON.stringify(form));
      assert.match(await response.text(), /security token is missing or wrong/);
    }
    const crossSite = await page.request.post(`${base}/console/spends/${spendIds[2]}/approve`, { form: { _csrf: await csrfOf(page) }, headers: { 'sec-fetch-site': 'cross-site' }, maxRedirects: 0 });
    assert.equal(crossSite.status(), 403);
    assert.equal(await status(spendIds[2]!), 'awaiting_approval');

    // The other session outlives its fixed lifetime.
    await db.pool.query("UPDATE web_sessions SET created_at = now() - interval '9 hours', expires_at = now() - interval '1 hour' WHERE id_hash = (SELECT id_hash FROM web_sessions ORDER BY created_at DESC LIMIT 1)");
    await other.reload();
    assert.equal(new URL(other.url()).pathname, '/console/sign-in');
    const late = await other.request.post(`${base}/console/spends/${spendIds[2]}/approve`, { form: { _csrf: foreignToken }, maxRedirects: 0 });
    assert.equal(late.status(), 401);
    assert.equal(await status(spendIds[2]!), 'awaiting_approval');

    const before = Number((await db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM web_sessions WHERE expires_at > now()')).rows[0]!.n);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/console/sign-in');
    const afterSignOut = Number((await db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM web_sessions WHERE expires_at > now()')).rows[0]!.n);
    assert.equal(afterSignOut, before - 1, 'the session row is deleted');
    await page.goto(`${base}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/sign-in');
    await saveScreenshot(page, shots, 'console-sign-in', { forDocs: true });
    await page.context().close();
    await other.context().close();
  });
});
