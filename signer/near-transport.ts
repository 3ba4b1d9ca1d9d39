// The chain-signatures backend's way to the MPC network: one NEAR transaction per payload, a
// `sign` call on the signer contract with 1 yoctoNEAR and 300 TGas (unused gas is refunded),
// waiting until the yielded call is answered (research §4.1). The account that sends it is the
// predecessor every key is derived from; how its NEAR key is held is the caller's concern.
import { getTransactionLastResult, teraToGas, type Account, type FinalExecutionOutcome } from 'near-api-js';
import { SignerError } from './signature.ts';
import type { SignCall } from './signer.ts';

export const signCallGasTera = '300';
export const signCallDepositYocto = 1n;

/** What the transaction's last result holds: the contract's response, as parsed JSON. */
export function signResultFromOutcome(outcome: FinalExecutionOutcome): unknown {
  const result = getTransactionLastResult(outcome);
  if (result === null || typeof result !== 'object') throw new SignerError('invalid_signature', 'the sign transaction returned no signature');
  return result;
}

export function nearSignCall(account: Account): SignCall {
  return async ({ contractId, predecessor, args }) => {
    if (predecessor !== account.accountId) {
      // The contract derives from whoever sends the call; signing for another account would give
      // a signature from a different key, which the signer would reject anyway.
      throw new SignerError('no_signing_key', `this transport signs as ${account.accountId}, not ${predecessor}`);
    }
    const outcome = await account.callFunctionRaw({
      contractId,
      methodName: 'sign',
      args,
      gas: teraToGas(signCallGasTera),
      deposit: signCallDepositYocto,
      waitUntil: 'FINAL',
    });
    return signResultFromOutcome(outcome as unknown as FinalExecutionOutcome);
  };
}
