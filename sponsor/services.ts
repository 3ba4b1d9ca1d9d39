// The sponsor service assembled from configuration for the API process, and the paymaster's
// signer rotation for the API, the CLI and the workers. The service needs the chain
// (EVM_RPC_URL, for the chain id), the EntryPoint and the verifying paymaster, and the signing
// key in the keystore; without any of them there is no service and POST /v1/paymaster says so.
import { createPublicClient, getAddress, http, type PublicClient } from 'viem';
import type { Config, Logger, Pool } from '../infra/index.ts';
import type { Keystore } from '../signer/index.ts';
import type { SponsorContext } from './service.ts';
import { activePaymasterSigner, activeSignerKeyName, resolvePaymasterOwner, type SignerRotationContext } from './signer-rotation.ts';

export async function sponsorService(options: { config: Config; pool: Pool; logger: Logger; keystore: Keystore; onThrottled?: SponsorContext['onThrottled'] }): Promise<SponsorContext | null> {
  const { config, logger } = options;
  if (!config.EVM_RPC_URL || !config.EVM_ENTRYPOINT_ADDRESS || !config.EVM_PAYMASTER_ADDRESS) return null;
  const paymaster = getAddress(config.EVM_PAYMASTER_ADDRESS);
  // After a rotation the active key is the rotation's; the service follows later ones by itself.
  const keyName = await activeSignerKeyName(options.pool, paymaster, config.PAYMASTER_SIGNER_KEY);
  if (!(await options.keystore.has(keyName))) {
    logger.warn('the paymaster service is off: no signing key in the keystore', { key: keyName, hint: `coffer keys create-signing-key --name ${keyName} --curve secp256k1, then setSigner on the paymaster` });
    return null;
  }
  const chainId = await createPublicClient({ transport: http(config.EVM_RPC_URL, { retryCount: 2, timeout: 10_000 }) }).getChainId();
  return {
    pool: options.pool,
    logger,
    chainId,
    entryPoint: getAddress(config.EVM_ENTRYPOINT_ADDRESS),
    paymaster,
    signer: activePaymasterSigner({ keystore: options.keystore, paymaster, initialKeyName: config.PAYMASTER_SIGNER_KEY }),
    validitySeconds: config.SPONSOR_VALIDITY_SECONDS,
    paymasterVerificationGasLimit: BigInt(config.SPONSOR_PAYMASTER_VERIFICATION_GAS),
    signaturesPerMinuteMax: config.SPONSOR_SIGNATURES_PER_MINUTE,
    unincludedMax: config.SPONSOR_UNINCLUDED_MAX,
    ...(options.onThrottled ? { onThrottled: options.onThrottled } : {}),
  };
}

/** The signer rotation of EVM_PAYMASTER_ADDRESS, or null without a chain or a paymaster. The owner is resolved when a setSigner is due. */
export function paymasterSignerRotation(options: { config: Config; pool: Pool; logger: Logger; keystore: Keystore }): SignerRotationContext | null {
  const { config, keystore } = options;
  if (!config.EVM_RPC_URL || !config.EVM_PAYMASTER_ADDRESS) return null;
  const client = createPublicClient({ transport: http(config.EVM_RPC_URL, { retryCount: 2, timeout: 10_000 }) }) as PublicClient;
  const paymaster = getAddress(config.EVM_PAYMASTER_ADDRESS);
  return {
    pool: options.pool,
    logger: options.logger,
    keystore,
    client,
    paymaster,
    initialKeyName: config.PAYMASTER_SIGNER_KEY,
    owner: () => resolvePaymasterOwner({ client, keystore, paymaster, ...(config.PAYMASTER_OWNER_KEY ? { ownerKeyName: config.PAYMASTER_OWNER_KEY } : {}) }),
  };
}
