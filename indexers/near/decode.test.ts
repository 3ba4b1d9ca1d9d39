import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ftTransferCall, ftTransferEvents, netOfRefunds, transferYocto } from './decode.ts';
import type { ReceiptView } from './rpc.ts';

const receipt = (predecessor: string, receiver: string, actions: ReceiptView['receipt']['Action'] extends infer A ? (A extends { actions: infer L } ? L : never) : never): ReceiptView => ({
  predecessor_id: predecessor,
  receiver_id: receiver,
  receipt_id: 'r1',
  receipt: { Action: { signer_id: predecessor, actions } },
});
const event = (data: Record<string, string>[]) => `EVENT_JSON:${JSON.stringify({ standard: 'nep141', version: '1.0.0', event: 'ft_transfer', data })}`;

describe('NEAR receipts and NEP-141 events', () => {
  test('every Transfer counts, also in mixed-action receipts; refunds from system never do', () => {
    assert.equal(transferYocto(receipt('alice', 'bob', [{ Transfer: { deposit: '5' } }, 'CreateAccount', { Transfer: { deposit: '7' } }])), 12n);
    assert.equal(transferYocto(receipt('system', 'bob', [{ Transfer: { deposit: '5' } }])), 0n);
  });

  test('only accepted tokens\' ft_transfer / ft_transfer_call calls are candidates', () => {
    const args = Buffer.from(JSON.stringify({ receiver_id: 'bob', amount: '1' })).toString('base64');
    const call = (method: string) => receipt('alice', 'usdc.devnet', [{ FunctionCall: { method_name: method, args, gas: 1, deposit: '1' } }]);
    const tokens = new Map([['usdc.devnet', 'USDC']]);
    assert.deepEqual(ftTransferCall(call('ft_transfer_call'), tokens), { method: 'ft_transfer_call', receiverId: 'bob' });
    assert.equal(ftTransferCall(call('storage_deposit'), tokens), null);
    assert.equal(ftTransferCall(call('ft_transfer'), new Map()), null, 'a look-alike contract');
  });

  test('events are read from EVENT_JSON logs, batch entries indexed; other logs are skipped', () => {
    const logs = ['hello', 'EVENT_JSON:{bad', event([{ old_owner_id: 'a', new_owner_id: 'b', amount: '3' }, { old_owner_id: 'a', new_owner_id: 'c', amount: '4' }])];
    assert.deepEqual(ftTransferEvents(logs), [
      { index: 0, from: 'a', to: 'b', amount: 3n },
      { index: 1, from: 'a', to: 'c', amount: 4n },
    ]);
  });

  test('an ft_transfer_call counts net of the refund back to its sender', () => {
    const forward = ftTransferEvents([event([{ old_owner_id: 'a', new_owner_id: 'b', amount: '10' }])]);
    assert.deepEqual(netOfRefunds(forward, ftTransferEvents([event([{ old_owner_id: 'b', new_owner_id: 'a', amount: '4' }])])).map((e) => e.amount), [6n]);
    assert.deepEqual(netOfRefunds(forward, ftTransferEvents([event([{ old_owner_id: 'b', new_owner_id: 'a', amount: '10' }])])).map((e) => e.amount), [0n]);
    assert.deepEqual(netOfRefunds(forward, ftTransferEvents([event([{ old_owner_id: 'b', new_owner_id: 'z', amount: '4' }])])).map((e) => e.amount), [10n], 'only a refund to the sender');
  });
});
