// The relayer's services assembled from configuration, for the API process (sends, signing,
// reads) and the workers (the monitor and refill passes). Without an EVM node there is none.
import { createPublicClient, getAddress, http, type PublicClient } from 'viem';
import { Alerts, type Config, type Logger, type Pool } from '../infra/index.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import type { Keystore } from '../signer/index.ts';
import { webhookSecrets, type WebhookRootSource } from '../wallets/index.ts';
import type { ForwarderContext } from './forwarder.ts';
import { FeeOracle } from './pricing.ts';
import { alertSecret, type RefillContext } from './refills.ts';
import { OperationalKeys, type TokenSettings } from './relayers.ts';
import type { RelayContext } from './transactions.ts';

export interface RelayServices {
  ctx: RelayContext;
  tokens: TokenSettings;
  forwarder?: ForwarderContext;
  refills: RefillContext;
}

export function relayServices(options: { config: Config; pool: Pool; writer: LedgerWriter; logger: Logger; keystore: Keystore; webhookRoots: WebhookRootSource }): RelayServices | null {
  const { config, pool, writer, logger } = options;
  if (!config.EVM_RPC_URL) return null;
  const client = createPublicClient({ transport: http(config.EVM_RPC_URL, { retryCount: 2, timeout: 10_000 }) }) as PublicClient;
  const keys = new OperationalKeys(options.keystore);
  const ctx: RelayContext = { pool, writer, logger, keys, client, fees: new FeeOracle(client), dedupeWindowSeconds: config.RELAYER_DEDUPE_WINDOW_SECONDS, confirmations: config.RELAYER_CONFIRMATIONS };
  const targets = (config.FORWARDER_ALLOWED_TARGETS ?? '').split(',').filter(Boolean).map((a) => a.toLowerCase());
  return {
    ctx,
    tokens: { accessTtlSeconds: config.RELAYER_ACCESS_TOKEN_TTL_SECONDS, refreshTtlSeconds: config.RELAYER_REFRESH_TOKEN_TTL_SECONDS },
    ...(config.EVM_FORWARDER_ADDRESS
      ? {
          forwarder: {
            ...ctx,
            forwarder: getAddress(config.EVM_FORWARDER_ADDRESS),
            allowedTargets: new Set(targets),
            gasMax: BigInt(config.FORWARDER_GAS_MAX),
            ...(config.FORWARDER_RELAYER_ID ? { relayerId: config.FORWARDER_RELAYER_ID } : {}),
          },
        }
      : {}),
    refills: {
      pool,
      writer,
      logger,
      client,
      keys,
      treasuryKeyName: config.TREASURY_HOT_KEY,
      treasuryLowBelow: BigInt(config.TREASURY_LOW_BELOW_WEI),
      alerts: new Alerts({ db: pool, logger, ...(config.ALERT_WEBHOOK_URL ? { webhook: { url: config.ALERT_WEBHOOK_URL, secrets: () => webhookSecrets(options.webhookRoots, alertSecret) } } : {}) }),
    },
  };
}
