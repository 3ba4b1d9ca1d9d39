// The NEAR network is unreachable from these machines: these tests feed the transport the shapes
// the real network returns (a final execution outcome whose SuccessValue is the contract's JSON).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Account, FinalExecutionOutcome } from 'near-api-js';
import { nearSignCall, parseSignResponse, signCallArguments, signResultFromOutcome, SignerError } from './index.ts';

// near/mpc docs/localnet/localnet.md, as the contract answers a `sign` call.
const response = {
  big_r: { affine_point: '036080C3D1CC86EB785F8FBB3E216786D9A9ABAB30CB6D85FC7D5157BB3E8873C5' },
  recovery_id: 1,
  s: { scalar: '28DC2AB7BC81EB919797FA932632B35B6C3E8B8C037B11EC5F4071F184B3165D' },
  scheme: 'Secp256k1',
};
const outcome = (value: unknown) =>
  ({
    status: { SuccessValue: Buffer.from(JSON.stringify(value)).toString('base64') },
    transaction: {},
    transaction_outcome: { id: 'tx', outcome: { logs: [], receipt_ids: [], gas_burnt: 0, tokens_burnt: '0', executor_id: 'a', status: {} } },
    receipts_outcome: [],
  }) as unknown as FinalExecutionOutcome;

describe('the NEAR transport of the chain-signatures signer', () => {
  test('the transaction result is the contract response, parsed by the same code as the emulator', () => {
    const parsed = parseSignResponse(signResultFromOutcome(outcome(response)), 'secp256k1');
    assert.equal(parsed.curve === 'secp256k1' && parsed.recoveryId, 1);
    assert.throws(() => signResultFromOutcome(outcome(null)), SignerError);
  });

  test('it sends one sign call: contract v2 arguments, 1 yoctoNEAR, 300 TGas, waiting for finality', async () => {
    const calls: unknown[] = [];
    // Test double for near-api-js's Account (no network here): records the call, answers with an outcome.
    const account = {
      accountId: 'app.coffer.testnet',
      callFunctionRaw: (params: unknown) => {
        calls.push(params);
        return Promise.resolve(outcome(response));
      },
    } as unknown as Account;
    const call = nearSignCall(account);
    const args = signCallArguments({ predecessor: 'app.coffer.testnet', path: 'user-42,ethereum-1', curve: 'secp256k1' }, new Uint8Array(32).fill(7));
    const result = await call({ contractId: 'v1.signer-prod.testnet', predecessor: 'app.coffer.testnet', args });
    assert.deepEqual(result, response);
    assert.deepEqual(calls, [
      { contractId: 'v1.signer-prod.testnet', methodName: 'sign', args, gas: 300_000_000_000_000n, deposit: 1n, waitUntil: 'FINAL' },
    ]);
    assert.deepEqual(args.request.payload_v2, { Ecdsa: '07'.repeat(32) });
    await assert.rejects(call({ contractId: 'v1.signer-prod.testnet', predecessor: 'someone.else.testnet', args }), /signs as app.coffer.testnet/);
  });
});
