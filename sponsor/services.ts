// The sponsor service assembled from configuration for the API process. It needs the chain
// (EVM_RPC_URL, for the chain id), the EntryPoint and the verifying paymaster, and the signing
// key in the keystore; without any of them there is no service and POST /v1/paymaster says so.
import { createPublicClient, getAddress, http } from 'viem';
import { evmOperationalKey } from '../chains/index.ts';
import type { Config, Logger, Pool } from '../infra/index.ts';
import { OperationalKey, type Keystore } from '../signer/index.ts';
import type { SponsorContext } from './service.ts';

export async function sponsorService(options: { config: Config; pool: Pool; logger: Logger; keystore: Keystore; onThrottled?: SponsorContext['onThrottled'] }): Promise<SponsorContext | null> {
  const { config, logger } = options;
  if (!config.EVM_RPC_URL || !config.EVM_ENTRYPOINT_ADDRESS || !config.EVM_PAYMASTER_ADDRESS) return null;
  if (!(await options.keystore.has(config.PAYMASTER_SIGNER_KEY))) {
    logger.warn('the paymaster service is off: no signing key in the keystore', { key: config.PAYMASTER_SIGNER_KEY, hint: `coffer keys create-signing-key --name ${config.PAYMASTER_SIGNER_KEY} --curve secp256k1, then setSigner on the paymaster` });
    return null;
  }
  const signer = evmOperationalKey(new OperationalKey(await options.keystore.load(config.PAYMASTER_SIGNER_KEY)));
  const chainId = await createPublicClient({ transport: http(config.EVM_RPC_URL, { retryCount: 2, timeout: 10_000 }) }).getChainId();
  return {
    pool: options.pool,
    logger,
    chainId,
    entryPoint: getAddress(config.EVM_ENTRYPOINT_ADDRESS),
    paymaster: getAddress(config.EVM_PAYMASTER_ADDRESS),
    signer,
    validitySeconds: config.SPONSOR_VALIDITY_SECONDS,
    paymasterVerificationGasLimit: BigInt(config.SPONSOR_PAYMASTER_VERIFICATION_GAS),
    signaturesPerMinuteMax: config.SPONSOR_SIGNATURES_PER_MINUTE,
    unincludedMax: config.SPONSOR_UNINCLUDED_MAX,
    ...(options.onThrottled ? { onThrottled: options.onThrottled } : {}),
  };
}
