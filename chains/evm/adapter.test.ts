// The EVM adapter against anvil: a planned ETH "send everything" and an ERC-20 transfer, each
// signed through the emulator signer for a derived key, broadcast twice (the second send is
// harmless) and followed to its confirmations; ledger-side limits (cap, fee funds) are honoured.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWalletClient, http, parseEther, type Address } from 'viem';
import { deployContracts } from '../../contracts/index.ts';
import { startAnvil, type Anvil } from '../../devnets/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner } from '../../signer/index.ts';
import { awaitConfirmations, chainAdapter, signTransfer, type ChainClient } from '../index.ts';

const emulator = new ChainSignaturesEmulator({ secp256k1: BigInt(`0x${randomBytes(31).toString('hex')}`), ed25519: BigInt(`0x${randomBytes(31).toString('hex')}`) });
const signer = new EmulatorSigner(emulator);
const adapter = chainAdapter('ethereum', { evmChainId: 31_337 });
const key = { predecessor: 'alice.coffer.testnet', path: 'ethereum-1', curve: 'secp256k1' as const };
const from = adapter.address.fromPublicKey(signer.publicKey(key));
const treasury = '0x000000000000000000000000000000000000bEEF';
const follow = { confirmations: 2, timeoutMs: 20_000, pollIntervalMs: 50 };

let anvil: Anvil;
let client: ChainClient;
let token: Address;

before(async () => {
  anvil = await startAnvil();
  client = adapter.connect({ rpcUrl: anvil.url });
  const wallet = createWalletClient({ account: anvil.accounts[0]!, transport: http(anvil.url) });
  await wallet.sendTransaction({ to: from as Address, value: parseEther('1'), chain: null });
  token = (await deployContracts({ rpcUrl: anvil.url })).testToken;
  const mintAbi = [{ type: 'function', name: 'mint', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [] }] as const;
  await wallet.writeContract({ address: token, abi: mintAbi, functionName: 'mint', args: [from as Address, 5_000_000n], chain: null });
  await anvil.rpc('evm_mine');
});

after(async () => anvil?.stop());

describe('EVM adapter', () => {
  test('codec: canonical is lower case, malformed addresses are refused, payment URIs follow EIP-681', () => {
    assert.equal(adapter.address.canonical(from), from.toLowerCase());
    assert.throws(() => adapter.address.canonical('0x12'), { name: 'InvalidAddressError' });
    assert.equal(adapter.address.isValid('0xZZ00000000000000000000000000000000000000'), false);
    assert.match(adapter.address.paymentUri({ address: from.toLowerCase() }), /^ethereum:0x[0-9a-fA-F]{40}@31337$/);
    assert.equal(adapter.address.paymentUri({ address: treasury, amount: 5n, asset: { code: 'USDC', scale: 6, contract: treasury } }), `ethereum:${treasury}@31337/transfer?address=${treasury}&uint256=5`);
  });

  test('an ERC-20 transfer of what the ledger holds, at most: planned, signed, broadcast twice, confirmed', async () => {
    const asset = { code: 'tUSDC', scale: 6, contract: token };
    const plan = await client.planTransfer({ from: { address: from, key }, to: treasury, asset, amount: { all: true, cap: 3_000_000n } });
    assert.equal(plan.status, 'planned');
    if (plan.status !== 'planned') return;
    assert.equal(plan.unsigned.amount, 3_000_000n, 'capped at what the ledger holds');
    const signed = await signTransfer({ adapter, unsigned: plan.unsigned, signer });
    assert.deepEqual(await client.broadcast(signed), { status: 'sent' });
    assert.deepEqual(await client.broadcast(signed), { status: 'sent' }, 're-broadcasting the same bytes is harmless');
    await anvil.rpc('anvil_mine', ['0x2']);
    const done = await awaitConfirmations(client, signed.id, follow);
    assert.ok(done?.success);
    assert.ok(done.fee > 0n && done.fee <= plan.unsigned.feeMax);
    assert.equal(await client.balance(treasury, asset), 3_000_000n);
  });

  test('ETH "everything minus the fee" leaves only the unused part of the fee bound behind', async () => {
    const before = await client.balance(from, adapter.nativeAsset);
    const plan = await client.planTransfer({ from: { address: from, key }, to: treasury, asset: adapter.nativeAsset, amount: { all: true } });
    assert.equal(plan.status, 'planned');
    if (plan.status !== 'planned') return;
    assert.equal(plan.unsigned.amount + plan.unsigned.feeMax, before);
    const signed = await signTransfer({ adapter, unsigned: plan.unsigned, signer });
    await client.broadcast(signed);
    await anvil.rpc('anvil_mine', ['0x2']);
    const done = await awaitConfirmations(client, signed.id, follow);
    assert.ok(done?.success);
    assert.equal(await client.balance(from, adapter.nativeAsset), plan.unsigned.feeMax - done.fee);
  });

  test('a token transfer without gas money asks for fee funds instead of failing on chain', async () => {
    const plan = await client.planTransfer({ from: { address: from, key }, to: treasury, asset: { code: 'tUSDC', scale: 6, contract: token }, amount: 1n, feeFundsMax: 0n });
    assert.equal(plan.status, 'needs_fee_funds');
    assert.ok(plan.status === 'needs_fee_funds' && plan.shortfall > 0n);
  });

  test('a transaction the node never saw is unknown', async () => {
    assert.deepEqual(await client.status(`0x${'ab'.repeat(32)}`), { status: 'unknown' });
  });
});
