import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Account, JsonRpcProvider, KeyPair, nearToYocto, teraToGas } from 'near-api-js';
import { startNearDevnet, ftStorageDepositYocto, type NearDevnet } from './index.ts';

type Outcome = {
  status: unknown;
  transaction_outcome: { id: string };
  receipts_outcome: { id: string; block_hash: string; outcome: { executor_id: string; logs: string[]; status: Record<string, unknown> } }[];
};

function events(outcome: Outcome, contractId: string): { event: string; data: Record<string, string>[] }[] {
  return outcome.receipts_outcome
    .filter((receipt) => receipt.outcome.executor_id === contractId && !('Failure' in receipt.outcome.status))
    .flatMap((receipt) => receipt.outcome.logs)
    .filter((line) => line.startsWith('EVENT_JSON:'))
    .map((line) => JSON.parse(line.slice('EVENT_JSON:'.length)) as { standard: string; event: string; data: Record<string, string>[] })
    .map(({ event, data }) => ({ event, data }));
}

describe('the devnet USDC token (NEP-141)', () => {
  let devnet: NearDevnet;
  let provider: JsonRpcProvider;
  let faucet: Account;
  let usdc: string;
  const user = KeyPair.fromRandom('ed25519');
  const userId = Buffer.from(user.getPublicKey().data).toString('hex');
  const balanceOf = (accountId: string) => provider.callFunction({ contractId: usdc, method: 'ft_balance_of', args: { account_id: accountId } });

  before(async () => {
    devnet = await startNearDevnet({ blocks: 'on-demand' });
    provider = new JsonRpcProvider({ url: devnet.rpcUrl });
    faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
    usdc = devnet.tokens.USDC;
    assert.equal(devnet.describe().tokens.USDC, usdc);
    await faucet.transfer({ receiverId: userId, amount: nearToYocto('1') });
  });
  after(() => devnet.stop());

  test('has USDC metadata with 6 decimals', async () => {
    const metadata = (await provider.callFunction({ contractId: usdc, method: 'ft_metadata', args: {} })) as { symbol: string; decimals: number; spec: string };
    assert.deepEqual([metadata.spec, metadata.symbol, metadata.decimals], ['ft-1.0.0', 'USDC', 6]);
  });

  test('an unregistered receiver cannot receive; storage_deposit registers it and refunds the excess', async () => {
    await assert.rejects(
      faucet.callFunction({ contractId: usdc, methodName: 'ft_transfer', args: { receiver_id: userId, amount: '1' }, deposit: 1n }),
      (error: Error) => error.message.includes(`The account ${userId} is not registered`),
    );
    assert.equal(await provider.callFunction({ contractId: usdc, method: 'storage_balance_of', args: { account_id: userId } }), null);
    const tokenBefore = (await provider.viewAccount({ accountId: usdc })).amount;
    await faucet.callFunction({ contractId: usdc, methodName: 'storage_deposit', args: { account_id: userId }, deposit: ftStorageDepositYocto + 5n });
    assert.deepEqual(await provider.callFunction({ contractId: usdc, method: 'storage_balance_of', args: { account_id: userId } }), { total: ftStorageDepositYocto.toString(), available: '0' });
    assert.equal((await provider.viewAccount({ accountId: usdc })).amount - tokenBefore, ftStorageDepositYocto, 'the 5 yocto over the minimum went back');
    assert.equal(await balanceOf(userId), '0');
  });

  test('ft_transfer needs exactly 1 yocto, moves the balance and logs a NEP-297 ft_transfer event', async () => {
    await assert.rejects(
      faucet.callFunction({ contractId: usdc, methodName: 'ft_transfer', args: { receiver_id: userId, amount: '1' } }),
      (error: Error) => error.message.includes('Requires attached deposit of exactly 1 yoctoNEAR'),
    );
    const faucetBefore = BigInt((await balanceOf(faucet.accountId)) as string);
    const outcome = (await faucet.callFunctionRaw({ contractId: usdc, methodName: 'ft_transfer', args: { receiver_id: userId, amount: '2500000', memo: 'deposit' }, deposit: 1n })) as unknown as Outcome;
    assert.deepEqual(events(outcome, usdc), [{ event: 'ft_transfer', data: [{ old_owner_id: 'devnet', new_owner_id: userId, amount: '2500000', memo: 'deposit' }] }]);
    assert.equal(await balanceOf(userId), '2500000');
    assert.equal(BigInt((await balanceOf(faucet.accountId)) as string), faucetBefore - 2_500_000n);
  });

  test('ft_transfer_call to an account without code is refunded in full, with a refund event', async () => {
    const outcome = (await faucet.callFunctionRaw({
      contractId: usdc,
      methodName: 'ft_transfer_call',
      args: { receiver_id: userId, amount: '1000000', msg: '' },
      deposit: 1n,
      gas: teraToGas('100'),
    })) as unknown as Outcome;
    // The transaction's result is ft_resolve_transfer's: the amount the receiver kept.
    assert.deepEqual(outcome.status, { SuccessValue: Buffer.from('"0"').toString('base64') });
    const onTransfer = outcome.receipts_outcome.find((receipt) => receipt.outcome.executor_id === userId && 'Failure' in receipt.outcome.status);
    assert.ok(onTransfer, 'the receiver has no contract, so ft_on_transfer fails');
    assert.deepEqual(events(outcome, usdc), [
      { event: 'ft_transfer', data: [{ old_owner_id: 'devnet', new_owner_id: userId, amount: '1000000' }] },
      { event: 'ft_transfer', data: [{ old_owner_id: userId, new_owner_id: 'devnet', amount: '1000000', memo: 'refund' }] },
    ]);
    assert.equal(await balanceOf(userId), '2500000');
    // Unused gas comes back to the signer in refund receipts from `system`.
    const refunds = outcome.receipts_outcome.filter((receipt) => receipt.outcome.executor_id === 'devnet');
    assert.ok(refunds.length > 0);
    const chunkReceipts = await Promise.all(
      refunds.map(async (receipt) => {
        const block = await provider.viewBlock({ blockId: receipt.block_hash });
        const chunk = (await provider.viewChunk(block.chunks[0]!.chunk_hash)) as unknown as { receipts: { receipt_id: string; predecessor_id: string }[] };
        return chunk.receipts.find((candidate) => candidate.receipt_id === receipt.id)!;
      }),
    );
    assert.deepEqual(new Set(chunkReceipts.map((receipt) => receipt.predecessor_id)), new Set(['system']));
  });

  test('the user can send tokens back with its own key', async () => {
    const account = new Account(userId, provider, user.toString());
    await account.callFunction({ contractId: usdc, methodName: 'ft_transfer', args: { receiver_id: 'devnet', amount: '500000' }, deposit: 1n });
    assert.equal(await balanceOf(userId), '2000000');
  });
});
