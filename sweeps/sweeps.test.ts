// ETH sweeps against a real anvil and PostgreSQL, the sweep job called directly (the queue
// around it is jobs/pipeline.test.ts's subject). Deposits are sent on chain for real and booked
// the way the indexer books them, so the ledger and the chain can be compared to the wei.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from 'viem';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { depositEntryKinds, getBalances, getTrialBalance, LedgerWriter } from '../ledger/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser, getDepositAddress } from '../users/index.ts';
import { chainAdapter } from '../chains/index.ts';
import { sweepDeposit, type SweepContext } from './sweeps.ts';

const ethTransferGas = 21_000n;
// Development roots (research: near-chain-signatures §7.3); any fixed pair serves here.
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});

let anvil: Anvil;
let db: TestDatabase;
let writer: LedgerWriter;
let chain: PublicClient;
let context: SweepContext;
let treasury: Address;

before(async () => {
  anvil = await startAnvil();
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  chain = createPublicClient({ transport: http(anvil.url) });
  treasury = anvil.accounts[9]!;
  context = {
    pool: db.pool,
    writer,
    signer: new EmulatorSigner(emulator),
    // One confirmation: anvil mines each transaction at once, so the job returns when it is mined.
    chains: new Map([['ethereum', { adapter: chainAdapter('ethereum'), rpcUrl: anvil.url, treasury, confirmations: 1, trackTimeoutMs: 20_000, pollIntervalMs: 50 }]]),
    logger: silentLogger,
  };
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await anvil?.stop();
});

const balanceOf = async (account: string, asset = 'ETH') => (await getBalances(db.pool, { account, asset }))[0]?.balance ?? 0n;

/** Sends `wei` to `address` on chain and books it as the indexer does: pending, then confirmed. */
async function deposit(userId: string, address: Address, wei: bigint): Promise<bigint> {
  const funder = createWalletClient({ account: anvil.accounts[1]!, transport: http(anvil.url) });
  const hash = await funder.sendTransaction({ to: address, value: wei, chain: null });
  const receipt = await chain.waitForTransactionReceipt({ hash, timeout: 20_000 });
  const keyBase = `ethereum:${hash}:value`;
  const depositKey = `${keyBase}:deposit@${receipt.blockHash}`;
  const [pending, confirmed] = await writer.transaction((t) =>
    t.append([
      {
        kind: depositEntryKinds.pending,
        idempotencyKey: depositKey,
        sourceRef: hash,
        metadata: { chain: 'ethereum', userId, address },
        postings: [{ source: 'world:ethereum', destination: `deposits:ethereum:${address}:pending`, asset: 'ETH', amount: wei }],
      },
      {
        kind: depositEntryKinds.confirmed,
        idempotencyKey: `${keyBase}:confirm@${receipt.blockHash}`,
        metadata: { depositKey },
        postings: [{ source: `deposits:ethereum:${address}:pending`, destination: `custody:ethereum:${address}`, asset: 'ETH', amount: wei }],
      },
    ]),
  );
  assert.equal(pending?.status, 'created');
  assert.equal(confirmed?.status, 'created');
  return pending.status === 'created' ? pending.entry.id : 0n;
}

/** What the chain says a sweep transaction cost and what it left unburned of its gas budget. */
async function chainCosts(txHash: string) {
  const hash = txHash as Hex;
  const [tx, receipt] = await Promise.all([chain.getTransaction({ hash }), chain.getTransactionReceipt({ hash })]);
  assert.equal(tx.type, 'eip1559');
  assert.equal(tx.gas, ethTransferGas, 'a plain transfer: no gas kept back for tokens');
  const maxFeePerGas = tx.maxFeePerGas;
  return { value: tx.value, fee: receipt.gasUsed * receipt.effectiveGasPrice, unburned: tx.gas * (maxFeePerGas - receipt.effectiveGasPrice), budget: tx.gas * maxFeePerGas };
}

describe('ETH sweeps', () => {
  test('the gas an ETH sweep leaves on the address is swept with the next deposit; ledger and chain agree to the wei', async () => {
    const user = await createUser(db.pool, { nearAccountId: 'leftover.testnet' });
    const address = (await getDepositAddress(db.pool, user.id, 'ethereum', { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } })).address as Address;
    const custody = `custody:ethereum:${address}`;
    const treasuryOnChainBefore = await chain.getBalance({ address: treasury });

    const firstDeposit = 3n * 10n ** 17n;
    const first = await sweepDeposit(context, await deposit(user.id, address, firstDeposit));
    assert.equal(first.status, 'confirmed');
    const firstCosts = await chainCosts(first.status === 'confirmed' ? first.txHash : '0x');
    // The sweep sends all it holds but the gas budget (gas × maxFeePerGas); the chain burns gas ×
    // the effective price, so the difference comes back to the address and stays in custody.
    assert.equal(firstCosts.value, firstDeposit - firstCosts.budget);
    assert.ok(firstCosts.unburned > 0n, 'the base fee is below maxFeePerGas, so part of the budget is left over');
    const leftover = await chain.getBalance({ address });
    assert.equal(leftover, firstCosts.unburned);
    assert.equal(await balanceOf(custody), leftover, 'the leftover is in custody, as on chain');

    const secondDeposit = 2n * 10n ** 17n;
    const second = await sweepDeposit(context, await deposit(user.id, address, secondDeposit));
    assert.equal(second.status, 'confirmed');
    const secondCosts = await chainCosts(second.status === 'confirmed' ? second.txHash : '0x');
    assert.equal(second.status === 'confirmed' && second.amount, secondDeposit + leftover - secondCosts.budget, 'the second sweep carries the deposit and the earlier leftover');
    assert.equal(secondCosts.value, secondDeposit + leftover - secondCosts.budget);

    const finalOnChain = await chain.getBalance({ address });
    assert.equal(finalOnChain, secondCosts.unburned, 'only the new leftover stays on the address');
    assert.equal(await balanceOf(custody), finalOnChain, 'custody and the chain agree');
    assert.equal(await balanceOf(`${custody}:sweeping`), 0n);
    assert.equal(await balanceOf('fees:ethereum'), firstCosts.fee + secondCosts.fee, 'fees booked are the fees the chain charged');
    assert.equal(first.status === 'confirmed' && second.status === 'confirmed' && first.fee + second.fee, firstCosts.fee + secondCosts.fee);
    const treasuryGain = (await chain.getBalance({ address: treasury })) - treasuryOnChainBefore;
    assert.equal(treasuryGain, firstCosts.value + secondCosts.value);
    assert.equal(await balanceOf('treasury:ethereum'), treasuryGain);
    assert.equal(treasuryGain + firstCosts.fee + secondCosts.fee + finalOnChain, firstDeposit + secondDeposit, 'every wei deposited is in the treasury, in fees or on the address');
    for (const line of await getTrialBalance(db.pool)) assert.equal(line.debits, line.credits, `trial balance of ${line.asset}`);
  });
});
