// The bench baseline's sends on anvil: a burst with a nonce the node never got is completed by
// sending it again, and a nonce that can never be mined ends the wait at its deadline with a
// message that says what it waited for. The node's answer is read from viem's details, so
// "already imported" counts as sent (its first line only says "Transaction creation failed.").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicClient, http, toHex, type Hex, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { sendInNonceOrder, waitMined } from './raw-sends.ts';
import { nodeAnswer } from '../chains/index.ts';

let anvil: Anvil;
let client: PublicClient;

before(async () => {
  anvil = await startAnvil();
  client = createPublicClient({ transport: http(anvil.url) });
});

after(async () => {
  await anvil?.stop();
});

async function signedTransfers(count: number, funded: boolean): Promise<{ address: Hex; signed: Hex[] }> {
  const account = privateKeyToAccount(generatePrivateKey());
  if (funded) await anvil.rpc('anvil_setBalance', [account.address, toHex(10n ** 18n)]);
  const fees = await client.estimateFeesPerGas();
  const signed = await Promise.all(
    Array.from({ length: count }, (_, nonce) =>
      account.signTransaction({ type: 'eip1559', chainId: anvil.chainId, nonce, to: anvil.accounts[6]!, value: 1n, gas: 21_000n, maxFeePerGas: fees.maxFeePerGas * 2n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }),
    ),
  );
  return { address: account.address, signed };
}

test('a burst whose first nonce never reached the node: the stall is noticed and the nonce sent again', async () => {
  const { address, signed } = await signedTransfers(20, true);
  const sent = await sendInNonceOrder(client, signed.slice(1), 4);
  assert.deepEqual(sent.refused, [], 'the node queues nonces 1..19 behind the missing 0');
  assert.equal(await client.getTransactionCount({ address }), 0, 'nothing mined while nonce 0 is missing');
  const stalls: number[] = [];
  const { resent } = await waitMined(client, address, signed, { timeoutMs: 10_000, stallMs: 300, resendCount: 4, onStall: (nonce) => stalls.push(nonce) });
  assert.deepEqual(stalls, [0], 'one stall, at nonce 0');
  assert.equal(resent, 4);
  assert.equal(await client.getTransactionCount({ address }), 20);
});

test('a burst the chain can never mine ends at the deadline, saying where the nonce stopped', async () => {
  const { address, signed } = await signedTransfers(3, false);
  const sent = await sendInNonceOrder(client, signed, 2);
  assert.equal(sent.refused.length, 3, 'an unfunded key: every send refused');
  const startedMs = Date.now();
  await assert.rejects(
    waitMined(client, address, signed, { timeoutMs: 1_000, stallMs: 200, resendCount: 2 }),
    (error: Error) => {
      assert.match(error.message, new RegExp(`timed out after \\d+ s waiting for ${address} to mine nonces 0\\.\\.2: the chain nonce is 0, \\d+ sends were repeated; the node last answered "[^"]*funds`, 'i'));
      return true;
    },
  );
  assert.ok(Date.now() - startedMs < 5_000, 'the deadline held');
});

test("a repeated send is recognised by the node's answer, not viem's summary line", async () => {
  const { signed } = await signedTransfers(2, true);
  // Nonce 1 waits in the pool behind 0, so sending it again is a repeat, not a mined nonce.
  await client.sendRawTransaction({ serializedTransaction: signed[1]! });
  const error = await client.sendRawTransaction({ serializedTransaction: signed[1]! }).then(() => assert.fail('the node took the same transaction twice'), (e: unknown) => e);
  assert.match(nodeAnswer(error), /already (known|imported)/i);
  assert.deepEqual((await sendInNonceOrder(client, signed.slice(1), 1)).refused, [], 'a repeat is not a refusal');
});
