// The chain-signatures signer's way to the MPC contract with keystore keys: one NEAR transaction
// per payload, a FunctionCall `sign` (300 TGas, 1 yoctoNEAR; unused gas is refunded) sent as the
// predecessor and signed with that account's full-access key from the keystore, then the
// contract's answer read from the final outcome (signer/near-transport.ts's parsing). A
// predecessor without an imported key fails closed, naming the account and the way out.
import { teraToGas, type FinalExecutionOutcome } from 'near-api-js';
import { signCallDepositYocto, signCallGasTera, signResultFromOutcome, SignerError, type Curve, type Signature, type SignCall } from '../../signer/index.ts';
import { finalOutcome } from './adapter.ts';
import { callView, isMissing, nearRpc, viewAccessKey } from './rpc.ts';
import { functionCallAction, nearTransaction, outcomeFeeYocto, sealNearTransaction, type FinalOutcomeView } from './transaction.ts';

/** How long one `sign` waits for its yielded answer (the contract gives up after ~200 blocks). */
const signWaitMsDefault = 120_000;
const pollIntervalMs = 500;

export interface SignCost {
  predecessor: string;
  txHash: string;
  /** Gas burnt by the call (refunds already netted out). */
  feeYocto: bigint;
  depositYocto: bigint;
}

export function nearKeystoreSignCall(options: {
  rpcUrl: string;
  /** The public key of the keystore key for an account, or null. */
  publicKeyOf: (accountId: string) => Promise<string | null>;
  /** The keystore key's name for an account, and the signing itself (signer/'s keystoreSigner). */
  keyName: (accountId: string) => string;
  sign: (name: string, bytes: Uint8Array) => Promise<Signature>;
  /** Called once per sign transaction with what it cost its predecessor, for the books. */
  onCost?: (cost: SignCost) => Promise<void>;
  waitMs?: number;
}): SignCall {
  const rpc = nearRpc(options.rpcUrl);
  return async ({ contractId, predecessor, args }) => {
    const publicKey = await options.publicKeyOf(predecessor);
    if (!publicKey) throw new SignerError('no_signing_key', `no key for ${predecessor} in the keystore, so coffer cannot call the MPC contract as it; import one with \`coffer users import-near-key\``);
    let accessKey;
    try {
      accessKey = await viewAccessKey(rpc, predecessor, publicKey);
    } catch (error) {
      if (isMissing(error, 'UNKNOWN_ACCESS_KEY', 'UNKNOWN_ACCOUNT', 'QUERY_ERROR')) throw new SignerError('no_signing_key', `the imported key of ${predecessor} is no longer on its account`);
      throw error;
    }
    const { borsh, hash } = nearTransaction({
      signerId: predecessor,
      publicKey,
      receiverId: contractId,
      nonce: BigInt(accessKey.nonce) + 1n,
      blockHash: accessKey.block_hash,
      actions: [functionCallAction('sign', args, teraToGas(signCallGasTera), signCallDepositYocto)],
    });
    const signature = await options.sign(options.keyName(predecessor), hash);
    if (signature.curve !== 'ed25519') throw new SignerError('wrong_curve', `the key of ${predecessor} is not an ed25519 key`);
    const signed = sealNearTransaction(borsh, signature.signature);
    let outcome: FinalOutcomeView | null = null;
    try {
      outcome = await rpc.call<FinalOutcomeView>('send_tx', { signed_tx_base64: signed.raw, wait_until: 'FINAL' });
    } catch (error) {
      // The yielded call can outlast the RPC's wait: keep the hash and ask again (research §4.1).
      if (!isMissing(error, 'TIMEOUT_ERROR')) throw new SignerError('signer_unavailable', `the sign transaction of ${predecessor} was refused: ${error instanceof Error ? error.message.slice(0, 200) : 'request failed'}`);
    }
    const deadline = Date.now() + (options.waitMs ?? signWaitMsDefault);
    while (!outcome?.transaction_outcome) {
      if (Date.now() > deadline) throw new SignerError('signer_unavailable', `the sign transaction ${signed.id} of ${predecessor} had no final answer in time`);
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      outcome = await finalOutcome(rpc, signed.id, predecessor);
    }
    await options.onCost?.({ predecessor, txHash: signed.id, feeYocto: outcomeFeeYocto(outcome), depositYocto: signCallDepositYocto });
    return signResultFromOutcome(outcome as unknown as FinalExecutionOutcome);
  };
}

/** The MPC contract's root public keys (NAJ), from its `public_key` view, per domain. */
export async function mpcRootKeys(rpcUrl: string, contractId: string): Promise<Record<Curve, string>> {
  const rpc = nearRpc(rpcUrl);
  return {
    secp256k1: await callView<string>(rpc, contractId, 'public_key', { domain_id: 0 }),
    ed25519: await callView<string>(rpc, contractId, 'public_key', { domain_id: 1 }),
  };
}
