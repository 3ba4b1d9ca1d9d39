// The remote signer as its clients meet it: the API on a free port, real PostgreSQL, a keystore
// key and an MPC-derived key (the chain-signatures emulator), and anvil to accept what is signed.
// viem sends eth_signTransaction in the exact shape op-service's Go client marshals (nulls,
// `input`, an empty accessList, chainId); the answer is the bare hex of the signed transaction.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import {
  createClient,
  createWalletClient,
  http,
  keccak256,
  parseTransaction,
  recoverAddress,
  recoverMessageAddress,
  recoverTransactionAddress,
  recoverTypedDataAddress,
  serializeTransaction,
  toHex,
  type Address,
  type Hex,
  type TransactionSerializableEIP1559,
} from 'viem';
import { createApiKey } from '../access/index.ts';
import { startApiServer } from '../api/index.ts';
import { responseSchemas } from '../api/responses.ts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner, Keystore } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createKeystoreSignerKey, createMpcSignerKey, createSigningClient, KeyMaterial, listSignerEvents, setSignerPolicy, type SignerKey } from './index.ts';

const inbox: Address = '0xff00000000000000000000000000000000000010';
const elsewhere: Address = '0x00000000000000000000000000000000000000aa';
const typedDataContract: Address = '0x00000000000000000000000000000000000000cc';
const hour = 3_600_000;

let anvil: Anvil;
let db: TestDatabase;
let dir: string;
let server: Server;
let url: string;
let batcher: SignerKey;
let proposer: SignerKey;
let unruled: SignerKey;
let token: string;
let clientId: string;
let proposerOnlyToken: string;
let operatorKey: string;
let clockMs = Date.parse('2026-12-03T10:00:00Z');

before(async () => {
  [anvil, db, dir] = await Promise.all([startAnvil(), createTestDatabase(), mkdtemp(join(tmpdir(), 'coffer-rsigner-'))]);
  const keystore = new Keystore({ directory: join(dir, 'keys'), passphrase: 'remote-signer-test', kdf: { m: 256, t: 1, p: 1 } });
  const emulator = new ChainSignaturesEmulator({ secp256k1: 0x5eedn, ed25519: 0x5eedn });
  batcher = await createKeystoreSignerKey(db.pool, keystore, 'batcher');
  proposer = await createMpcSignerKey(db.pool, { name: 'proposer', secp256k1Root: emulator.rootKey('secp256k1'), predecessor: 'coffer.testnet' });
  unruled = await createKeystoreSignerKey(db.pool, keystore, 'unruled');
  const chainRules = [{ type: 'chain_ids', allow: [anvil.chainId] }, { type: 'fee_cap', maxFeePerGas: '100000000000' }];
  await setSignerPolicy(db.pool, { key: 'batcher', actor: 'test', policy: { rules: [...chainRules, { type: 'recipients', allow: [inbox] }, { type: 'per_tx_cap', asset: 'ETH', max: '0' }, { type: 'messages', allow: ['raw'] }] } });
  await setSignerPolicy(db.pool, {
    key: 'proposer',
    actor: 'test',
    policy: { rules: [...chainRules, { type: 'messages', allow: ['personal', 'typed_data'] }, { type: 'contracts', allow: [typedDataContract, inbox] }, { type: 'velocity', max: 4, window: { rolling: '1h' } }] },
  });
  ({ token, id: clientId } = await createSigningClient(db.pool, { keyNames: ['batcher', 'proposer', 'unruled'], name: 'op-batcher' }));
  ({ token: proposerOnlyToken } = await createSigningClient(db.pool, { keyNames: ['proposer'] }));
  ({ key: operatorKey } = await createApiKey(db.pool, { role: 'operator' }));
  const funder = createWalletClient({ transport: http(anvil.url), account: anvil.accounts[0]! });
  for (const key of [batcher, proposer]) await funder.sendTransaction({ to: key.address, value: 10n ** 18n, chain: null });
  const material = new KeyMaterial({ keystore, signer: new EmulatorSigner(emulator) });
  const started = await startApiServer(
    { pool: db.pool, writer: new LedgerWriter({ pool: db.pool }), logger: silentLogger, remoteSigner: { ctx: { pool: db.pool, logger: silentLogger, material, now: () => new Date(clockMs) }, authHeader: 'X-Signer-Token' } },
    { port: 0 },
  );
  server = started.server as Server;
  url = `http://127.0.0.1:${started.port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.all([anvil.stop(), db.drop(), rm(dir, { recursive: true, force: true })]);
});

/** A JSON-RPC call as any client sends it; the whole answer, errors included. */
async function rpc(method: string, params: unknown[], headers: Record<string, string> = { authorization: `Bearer ${token}` }, signal?: AbortSignal) {
  const response = await fetch(`${url}/signer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), ...(signal ? { signal } : {}) });
  const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: { reason?: string; violations?: { code: string }[] } } };
  const parsed = responseSchemas.JsonRpcAnswer.safeParse(body);
  assert.ok(parsed.success, `the answer is the documented JSON-RPC shape: ${JSON.stringify(body)}`);
  return { status: response.status, ...body };
}

/** What op-service's Go TransactionArgs marshals for a 1559 transaction: no omitempty, so nulls. */
async function goShaped(key: SignerKey, overrides: Record<string, unknown> = {}) {
  const nonce = await anvil.rpc<Hex>('eth_getTransactionCount', [key.address, 'pending']);
  return {
    from: key.address,
    to: inbox,
    gas: toHex(60_000),
    gasPrice: null,
    maxFeePerGas: toHex(20_000_000_000n),
    maxPriorityFeePerGas: toHex(1_000_000_000n),
    value: '0x0',
    nonce,
    data: null,
    input: '0x00c0ffee',
    accessList: [],
    chainId: toHex(anvil.chainId),
    ...overrides,
  };
}

const signedCount = async (key: string) => (await listSignerEvents(db.pool, { key, kind: 'signed', limit: 500 })).length;

/** Sends what the signer answered to anvil and waits for its receipt. */
async function landOnAnvil(raw: Hex): Promise<string> {
  const hash = await anvil.rpc<Hex>('eth_sendRawTransaction', [raw]);
  const receipt = await anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [hash]);
  return receipt?.status ?? 'missing';
}

describe('remote signer endpoint', () => {
  test('health_status answers "OK" within the Go client\'s 3 s; no token, no answer', async () => {
    const answered = await rpc('health_status', [], { authorization: `Bearer ${token}` }, AbortSignal.timeout(3_000));
    assert.equal(answered.result, 'OK');
    const anonymous = await rpc('health_status', [], {});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.error?.code, -32002);
    assert.equal((await fetch(`${url}/upcheck`).then((r) => r.text())), 'OK');
  });

  test('eth_accounts lists exactly the client\'s keys; the token also works in the configured header', async () => {
    const all = await rpc('eth_accounts', [], { 'x-signer-token': token });
    assert.deepEqual(all.result, [batcher.address, proposer.address, unruled.address].sort());
    const narrow = await rpc('eth_accounts', [], { authorization: `Bearer ${proposerOnlyToken}` });
    assert.deepEqual(narrow.result, [proposer.address]);
  });

  for (const which of ['keystore', 'mpc'] as const) {
    test(`viem's Go-shaped eth_signTransaction with a ${which} key: the bare hex recovers to the key and anvil mines it`, async () => {
      const key = which === 'keystore' ? batcher : proposer;
      const client = createClient({ transport: http(`${url}/signer`, { retryCount: 0, fetchOptions: { headers: { authorization: `Bearer ${token}` } } }) });
      const args = await goShaped(key);
      const before = await signedCount(key.name);
      const raw = await client.request<{ Method: 'eth_signTransaction'; Parameters: [typeof args]; ReturnType: Hex }>({ method: 'eth_signTransaction', params: [args] });
      assert.match(raw, /^0x02[0-9a-f]+$/, 'the EIP-2718 envelope as bare hex, not geth\'s {raw, tx}');
      assert.equal(await recoverTransactionAddress({ serializedTransaction: raw as `0x02${string}` }), key.address);
      const parsed = parseTransaction(raw);
      assert.deepEqual([parsed.to, parsed.nonce, parsed.data, parsed.chainId], [inbox, Number(args.nonce), '0x00c0ffee', anvil.chainId]);
      assert.equal(await landOnAnvil(raw), '0x1');
      // The audit event: who, which key, the digest signed, the decoded transaction.
      const [event] = await listSignerEvents(db.pool, { key: key.name, kind: 'signed', limit: 1 });
      const { r: _r, s: _s, v: _v, yParity: _y, ...unsigned } = parsed;
      assert.equal(event?.digest, keccak256(serializeTransaction(unsigned as TransactionSerializableEIP1559)));
      assert.equal(event?.actor, clientId);
      assert.equal(event?.method, 'eth_signTransaction');
      assert.deepEqual((event?.detail.request as Record<string, unknown>).to, inbox);
      assert.equal(await signedCount(key.name), before + 1);
    });
  }

  test('outside the policy: a JSON-RPC error with the reason code, nothing signed, the refusal audited', async () => {
    const before = await signedCount('batcher');
    const refusals: [Record<string, unknown>, string][] = [
      [{ chainId: toHex(1) }, 'chain_not_allowed'],
      [{ to: elsewhere }, 'recipient_not_allowed'],
      [{ value: '0x1' }, 'per_tx_cap_exceeded'],
      [{ maxFeePerGas: toHex(100_000_000_001n) }, 'fee_cap_exceeded'],
    ];
    for (const [overrides, reason] of refusals) {
      const answer = await rpc('eth_signTransaction', [await goShaped(batcher, overrides)]);
      assert.equal(answer.result, undefined);
      assert.equal(answer.error?.code, -32001, JSON.stringify(answer.error));
      assert.equal(answer.error?.data?.reason, reason);
    }
    assert.equal(await signedCount('batcher'), before, 'nothing was signed');
    const refused = await listSignerEvents(db.pool, { key: 'batcher', kind: 'refused', limit: refusals.length });
    assert.deepEqual(refused.map((event) => event.code).reverse(), refusals.map(([, reason]) => reason));
    assert.ok(refused.every((event) => event.digest === null && event.actor === clientId));
  });

  test('a key without a policy signs nothing; a key the client was not given is unknown', async () => {
    const unpoliced = await rpc('eth_signTransaction', [await goShaped(unruled)]);
    assert.equal(unpoliced.error?.data?.reason, 'no_policy');
    const notGiven = await rpc('eth_signTransaction', [await goShaped(batcher)], { authorization: `Bearer ${proposerOnlyToken}` });
    assert.equal(notGiven.error?.code, -32000);
    assert.equal(notGiven.error?.data?.reason, 'unknown_key');
    const malformed = await rpc('eth_signTransaction', [await goShaped(batcher, { nonce: null })]);
    assert.equal(malformed.error?.code, -32602);
    assert.equal((await rpc('eth_sendTransaction', [{}])).error?.code, -32601);
  });

  test('eth_sign and eth_signTypedData_v4 recover to the key; messages a policy does not allow are refused', async () => {
    const personal = await rpc('eth_sign', [proposer.address, '0x68656c6c6f']);
    assert.equal(await recoverMessageAddress({ message: { raw: '0x68656c6c6f' }, signature: personal.result as Hex }), proposer.address);
    const typed = {
      types: {
        EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
        Order: [{ name: 'amount', type: 'uint256' }, { name: 'owner', type: 'address' }],
      },
      primaryType: 'Order',
      domain: { name: 'Exchange', chainId: anvil.chainId, verifyingContract: typedDataContract },
      // Wallet JSON gives big integers as strings.
      message: { amount: '1000000000000000000000', owner: proposer.address },
    };
    const signedTyped = await rpc('eth_signTypedData_v4', [proposer.address, JSON.stringify(typed)]);
    const { EIP712Domain: _domain, ...types } = typed.types;
    assert.equal(
      await recoverTypedDataAddress({ types, primaryType: 'Order', domain: { ...typed.domain, chainId: BigInt(anvil.chainId) }, message: { amount: 10n ** 21n, owner: proposer.address }, signature: signedTyped.result as Hex }),
      proposer.address,
    );
    const wrongChain = await rpc('eth_signTypedData_v4', [proposer.address, { ...typed, domain: { ...typed.domain, chainId: 1 } }]);
    assert.equal(wrongChain.error?.data?.reason, 'chain_not_allowed');
    const personalFromBatcher = await rpc('eth_sign', [batcher.address, 'hello']);
    assert.equal(personalFromBatcher.error?.data?.reason, 'message_signing_not_allowed');
  });

  test('velocity: the fifth signature within the hour is refused; an hour later it is signed', async () => {
    // The test clock has not moved: every signature so far is inside the rolling hour.
    for (let count = await signedCount('proposer'); count < 4; count += 1) {
      assert.match(String((await rpc('eth_sign', [proposer.address, toHex(count, { size: 1 })])).result), /^0x[0-9a-f]{130}$/);
    }
    const fifth = await rpc('eth_sign', [proposer.address, '0x05']);
    assert.equal(fifth.error?.data?.reason, 'velocity_exceeded');
    assert.equal(await signedCount('proposer'), 4);
    clockMs += hour + 1_000;
    assert.match(String((await rpc('eth_sign', [proposer.address, '0x06'])).result), /^0x[0-9a-f]{130}$/);
    // Requests at once cannot pass the limit together: the key's row is locked while each is judged.
    const burst = await Promise.all([7, 8, 9, 10, 11].map((byte) => rpc('eth_sign', [proposer.address, toHex(byte, { size: 1 })])));
    assert.deepEqual(burst.map((answer) => (answer.result ? 'signed' : answer.error?.data?.reason)).sort(), ['signed', 'signed', 'signed', 'velocity_exceeded', 'velocity_exceeded']);
  });

  test('Web3Signer REST: public keys, keccak256 signatures, transactions in raw bytes judged as transactions', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const keys = (await fetch(`${url}/api/v1/eth1/publicKeys`, { headers }).then((r) => r.json())) as string[];
    assert.ok(responseSchemas.SignerPublicKeys.safeParse(keys).success);
    assert.deepEqual(new Set(keys), new Set([batcher.publicKey, proposer.publicKey, unruled.publicKey]));
    const sign = (identifier: string, data: Hex) => fetch(`${url}/api/v1/eth1/sign/${identifier}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    const data = toHex('an attestation');
    const signed = await sign(batcher.publicKey, data);
    assert.equal(signed.status, 200);
    assert.equal(await recoverAddress({ hash: keccak256(data), signature: (await signed.text()) as Hex }), batcher.address);
    // `raw` is allowed, but bytes that are a transaction to a recipient off the list are still refused.
    const transaction: TransactionSerializableEIP1559 = { type: 'eip1559', chainId: anvil.chainId, nonce: 0, to: elsewhere, gas: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, value: 0n };
    const refused = await sign(batcher.publicKey, serializeTransaction(transaction));
    const problem = (await refused.json()) as { code: string; reason: string };
    assert.deepEqual([refused.status, problem.code, problem.reason], [403, 'policy_refused', 'recipient_not_allowed']);
    assert.equal((await sign(`0x${'00'.repeat(64)}`, data)).status, 404);
    assert.equal((await fetch(`${url}/api/v1/eth1/publicKeys`)).status, 401);
  });

  test('operators set a policy through the API and read the audit trail', async () => {
    const headers = { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' };
    const put = await fetch(`${url}/v1/signer/keys/unruled/policy`, { method: 'PUT', headers, body: JSON.stringify({ rules: [{ type: 'chain_ids', allow: [anvil.chainId] }] }) });
    const stored = (await put.json()) as { policyVersion: number };
    assert.equal(put.status, 200, JSON.stringify(stored));
    assert.ok(responseSchemas.SignerKey.safeParse(stored).success);
    assert.equal(stored.policyVersion, 1);
    const invalid = await fetch(`${url}/v1/signer/keys/unruled/policy`, { method: 'PUT', headers, body: JSON.stringify({ rules: [{ type: 'chain_ids', allow: [1], severity: 'freeze' }] }) });
    assert.equal(invalid.status, 400);
    const page = (await fetch(`${url}/v1/signer/events?key=unruled`, { headers }).then((r) => r.json())) as { data: { kind: string; code: string | null }[] };
    assert.ok(responseSchemas.SignerEventPage.safeParse(page).success);
    assert.deepEqual(page.data.map((event) => [event.kind, event.code]), [['policy_set', null], ['refused', 'no_policy']]);
  });
});
