// The proof with a real bundler (issue #24): anvil with EntryPoint v0.8 and SimpleAccountFactory
// at their canonical addresses, coffer's verifying paymaster (its signer added by the owner,
// no redeploy), its deposit and the bundler's EOA funded by refill passes, Alto, the API as the
// ERC-7677 paymaster service, and the EVM indexer as its own process. A permissionless
// SimpleAccount sends two sponsored operations (the first deploys it); the third is over the
// sender's cap and refused with its reason; forged and expired paymasterData fail on chain;
// and the ledger books each operation's exact actualGasCost, so the deposit account equals
// the EntryPoint's balanceOf.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, getAddress, http, parseAbi, type Abi, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createBundlerClient, createPaymasterClient, toPackedUserOperation, type UserOperation as ViemUserOperation } from 'viem/account-abstraction';
import { toSimpleSmartAccount } from 'permissionless/accounts';
import { createApiKey } from '../access/index.ts';
import { startApiServer } from '../api/index.ts';
import { signatureHex } from '../chains/index.ts';
import { readPackagedArtifact } from '../contracts/index.ts';
import { startAlto, type Alto } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { indexerNodeFlags } from '../indexers/supervise.ts';
import { getBalances, LedgerWriter } from '../ledger/index.ts';
import { entryPointAbi, refillPass, setRefillTarget } from '../relayer/index.ts';
import { createRelayBed, ether, type RelayBed } from '../testing/relay-bed.ts';
import { eventually } from '../testing/evm-world.ts';
import { encodePaymasterData, paymasterHash, setSponsorPolicy, type SponsorContext, type SponsorSigner } from './index.ts';

const cli = fileURLToPath(new URL('../cli/coffer.ts', import.meta.url));
const paymasterAdminAbi = parseAbi(['function setSigner(address signer, bool accepted)']);
const dead: Address = '0x000000000000000000000000000000000000dEaD';
const finalityDepth = 2;
const verificationGas = 60_000n;

describe('sponsored user operations through Alto', () => {
  let bed: RelayBed;
  let alto: Alto;
  let server: Server;
  let apiUrl: string;
  let sponsorKey: string;
  let sponsor: SponsorContext;
  let sponsorSigner: SponsorSigner;
  let indexer: ReturnType<typeof spawn>;
  let indexerOutput = '';
  let writer: LedgerWriter;
  const receipts: { actualGasCost: bigint }[] = [];
  const owner = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    bed = await createRelayBed();
    const { contracts, anvil, client } = bed;
    await bed.keystore.create('paymaster-signer', 'secp256k1');
    const signer = await bed.ctx.keys.get('paymaster-signer');
    sponsorSigner = signer;
    // Deployed with no signer: the owner adds the sponsor key afterwards, as a rotation would.
    const deployer = createWalletClient({ account: contracts.deployer, transport: http(anvil.url) });
    await client.waitForTransactionReceipt({ hash: await deployer.writeContract({ address: contracts.verifyingPaymaster, abi: paymasterAdminAbi, functionName: 'setSigner', args: [signer.address, true], chain: null }) });

    const bundlerKey = generatePrivateKey();
    await setRefillTarget(bed.db.pool, { name: 'paymaster', kind: 'entrypoint-deposit', address: contracts.verifyingPaymaster, entryPoint: contracts.entryPoint, fundBelow: 1n * ether, fundTo: 2n * ether, dailyCap: 10n * ether });
    await setRefillTarget(bed.db.pool, { name: 'bundler', kind: 'balance', address: privateKeyToAccount(bundlerKey).address, entryPoint: null, fundBelow: 1n * ether, fundTo: 5n * ether, dailyCap: 10n * ether });
    const pass = await refillPass(bed.refills);
    assert.deepEqual(pass?.targets.filter((t) => t.name === 'paymaster' || t.name === 'bundler').map((t) => t.action), ['refilled', 'refilled']);

    alto = await startAlto({ rpcUrl: anvil.url, entryPoint: contracts.entryPoint, executorPrivateKey: bundlerKey });
    writer = new LedgerWriter({ pool: bed.db.pool });
    sponsor = {
      pool: bed.db.pool,
      logger: silentLogger,
      chainId: anvil.chainId,
      entryPoint: contracts.entryPoint,
      paymaster: contracts.verifyingPaymaster,
      signer,
      validitySeconds: 300,
      paymasterVerificationGasLimit: verificationGas,
      signaturesPerMinuteMax: 10,
      unincludedMax: 5,
    };
    const started = await startApiServer({ pool: bed.db.pool, writer, logger: silentLogger, sponsor }, { port: 0 });
    server = started.server as Server;
    apiUrl = `http://127.0.0.1:${started.port}`;
    sponsorKey = (await createApiKey(bed.db.pool, { role: 'sponsor', name: 'wallet app' })).key;
    await setSponsorPolicy(bed.db.pool, { rules: [{ type: 'per_sender', maxCount: 2, window: { rolling: '24h' } }, { type: 'targets', allow: [dead] }] }, 'test');

    indexer = spawn(process.execPath, [...indexerNodeFlags, cli, 'indexer', 'run', '--chain', 'evm'], {
      env: { ...process.env, DATABASE_URL: bed.db.url, EVM_RPC_URL: anvil.url, EVM_FINALITY_DEPTH: String(finalityDepth), EVM_HEAD_POLL_INTERVAL_MS: '100', EVM_ENTRYPOINT_ADDRESS: contracts.entryPoint, SQD_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => (indexerOutput = (indexerOutput + chunk.toString()).slice(-10_000));
    indexer.stdout?.on('data', keep);
    indexer.stderr?.on('data', keep);
  });

  after(async () => {
    if (indexer && indexer.exitCode === null) {
      indexer.kill('SIGKILL');
      await new Promise((resolve) => indexer.once('exit', resolve));
    }
    if (server) await new Promise((resolve) => server.close(resolve));
    await alto?.stop();
    await writer?.close();
    await bed?.close();
  });

  // Smart accounts read the chain id from their client's chain.
  const chainClient = () => createPublicClient({ chain: foundry, transport: http(bed.anvil.url) });
  const smartAccount = () => toSimpleSmartAccount({ client: chainClient(), owner, entryPoint: { address: bed.contracts.entryPoint, version: '0.8' } });
  const bundlerClient = async () =>
    createBundlerClient({
      account: await smartAccount(),
      client: chainClient(),
      transport: http(alto.url),
      paymaster: createPaymasterClient({ transport: http(`${apiUrl}/v1/paymaster?apikey=${sponsorKey}`) }),
    });

  test('two sponsored operations are included, the first deploying the account', async () => {
    const bundler = await bundlerClient();
    const account = bundler.account;
    assert.equal(await bed.client.getCode({ address: account.address }), undefined, 'not deployed yet');
    for (let i = 0; i < 2; i += 1) {
      const hash = await bundler.sendUserOperation({ calls: [{ to: dead, value: 0n }] });
      const receipt = await bundler.waitForUserOperationReceipt({ hash, pollingInterval: 100, timeout: 30_000 });
      assert.equal(receipt.success, true);
      assert.equal(getAddress(receipt.paymaster!), bed.contracts.verifyingPaymaster);
      receipts.push({ actualGasCost: receipt.actualGasCost });
    }
    assert.ok(((await bed.client.getCode({ address: account.address })) ?? '0x').length > 2, 'the first operation deployed the account');
    const { rows } = await bed.db.pool.query<{ method: string; outcome: string }>('SELECT method, outcome FROM sponsor_decisions ORDER BY id');
    assert.deepEqual(rows.map((r) => `${r.method}:${r.outcome}`), ['pm_getPaymasterStubData:stub', 'pm_getPaymasterData:signed', 'pm_getPaymasterStubData:stub', 'pm_getPaymasterData:signed']);
  });

  test('a sender over its cap is refused with the reason, and gets no signature', async () => {
    const bundler = await bundlerClient();
    await assert.rejects(bundler.sendUserOperation({ calls: [{ to: dead, value: 0n }] }), (error: Error) => /already sponsored/.test(error.message));
    const op = { sender: bundler.account.address, nonce: '0x2', callData: '0x', maxFeePerGas: '0x3b9aca00', maxPriorityFeePerGas: '0x1' };
    const response = await fetch(`${apiUrl}/v1/paymaster`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sponsorKey}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'pm_getPaymasterData', params: [op, bed.contracts.entryPoint, `0x${bed.anvil.chainId.toString(16)}`, null] }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { code: number; data: { reason: string } } };
    assert.equal(body.result, undefined);
    assert.equal(body.error?.code, -32001);
    assert.equal(body.error?.data.reason, 'sender_count_exceeded');
    // Both refusals (viem's stub request, this one) are recorded with their reason; still only two signatures exist.
    const { rows } = await bed.db.pool.query<{ outcome: string; reason: string | null }>(`SELECT outcome, reason FROM sponsor_decisions WHERE outcome NOT IN ('signed', 'stub')`);
    assert.deepEqual(rows, [{ outcome: 'refused', reason: 'sender_count_exceeded' }, { outcome: 'refused', reason: 'sender_count_exceeded' }]);
    const { rows: signed } = await bed.db.pool.query(`SELECT 1 FROM sponsor_decisions WHERE outcome = 'signed'`);
    assert.equal(signed.length, 2);
  });

  test('forged and expired paymasterData are rejected by the EntryPoint on chain', async () => {
    const account = await smartAccount();
    const entryPoint = (await readPackagedArtifact('EntryPoint')).abi as Abi;
    const fees = await bed.client.estimateFeesPerGas();
    const base = {
      sender: account.address,
      nonce: await account.getNonce(),
      callData: await account.encodeCalls([{ to: dead, value: 0n }]),
      callGasLimit: 100_000n,
      verificationGasLimit: 200_000n,
      preVerificationGas: 60_000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    };
    const gas = { verificationGasLimit: verificationGas, postOpGasLimit: 0n };
    const now = Math.floor(Date.now() / 1000);
    const handle = async (validUntil: number, sign: (hash: Hex) => Promise<Hex>) => {
      const hash = paymasterHash({ ...base, initCode: '0x' }, gas, { chainId: bed.anvil.chainId, paymaster: bed.contracts.verifyingPaymaster, validUntil, validAfter: 0 });
      const unsigned = { ...base, paymaster: bed.contracts.verifyingPaymaster, paymasterVerificationGasLimit: gas.verificationGasLimit, paymasterPostOpGasLimit: 0n, paymasterData: encodePaymasterData(validUntil, 0, await sign(hash)), signature: '0x' as Hex };
      const op: ViemUserOperation<'0.8'> = { ...unsigned, signature: await account.signUserOperation({ ...unsigned, chainId: bed.anvil.chainId }) };
      return bed.client.simulateContract({ address: bed.contracts.entryPoint, abi: entryPoint, functionName: 'handleOps', args: [[toPackedUserOperation(op)], bed.anvil.accounts[0]!], account: bed.anvil.accounts[0]! });
    };
    const sponsorKeySigns = (hash: Hex) => Promise.resolve(signatureHex(sponsorSigner.signMessage(hash)).sig);
    const strangerSigns = (hash: Hex) => privateKeyToAccount(generatePrivateKey()).signMessage({ message: { raw: hash } });

    await assert.rejects(handle(now + 300, strangerSigns), (error: Error) => /AA34 signature error/.test(error.message), 'a signature by a key outside the signer set');
    await assert.rejects(handle(now - 60, sponsorKeySigns), (error: Error) => /AA32 paymaster expired or not due/.test(error.message), 'validUntil in the past');
    // The control: the same operation with the sponsor's fresh signature passes validation.
    await handle(now + 300, sponsorKeySigns);
  });

  test('the indexer books each operation’s actualGasCost from the deposit account to fees; the account equals balanceOf', async () => {
    assert.equal(receipts.length, 2);
    await bed.anvil.rpc('anvil_mine', [`0x${(finalityDepth + 2).toString(16)}`]);
    const entries = await eventually(
      'two sponsorship.gas entries',
      async () => {
        const { rows } = await bed.db.pool.query<{ amount: string }>(`SELECT (metadata->>'actualGasCost') AS amount FROM journal_entries WHERE kind = 'sponsorship.gas' ORDER BY id`);
        return rows.length === 2 && rows;
      },
      30_000,
      () => indexerOutput,
    );
    assert.deepEqual(entries.map((e) => BigInt(e.amount)), receipts.map((r) => r.actualGasCost));
    const ledger = (await getBalances(bed.db.pool, { account: 'operations:ethereum:paymaster', asset: 'ETH' }))[0]?.balance ?? 0n;
    const onChain = await bed.client.readContract({ address: bed.contracts.entryPoint, abi: entryPointAbi, functionName: 'balanceOf', args: [bed.contracts.verifyingPaymaster] });
    assert.equal(ledger, onChain);
    assert.equal(ledger, 2n * ether - receipts[0]!.actualGasCost - receipts[1]!.actualGasCost);
    const { rows } = await bed.db.pool.query<{ actual: string }>(`SELECT actual_gas_cost::text AS actual FROM sponsor_decisions WHERE outcome = 'signed' ORDER BY id`);
    assert.deepEqual(rows.map((r) => BigInt(r.actual)), receipts.map((r) => r.actualGasCost), 'the signed decisions are settled at what they cost');
  });
});
