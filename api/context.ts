// What every route can reach: the domain, never raw connections to build SQL with.
import type { Queue } from 'bullmq';
import type { Logger, Pool, RedisClient, SignerTls } from '../infra/index.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import type { DerivationSettings } from '../users/index.ts';
import type { Keystore } from '../signer/index.ts';
import type { WalletKeySettings, WebhookRootSource } from '../wallets/index.ts';
import type { RemoteSignerContext } from '../remote-signer/index.ts';
import type { ApiKeyIdentity } from '../access/index.ts';
import type { SignerRotationContext, SponsorContext } from '../sponsor/index.ts';
import type { ForwarderContext, RefillContext, RelayContext, Relayer, TokenSettings } from '../relayer/index.ts';

export interface ApiDependencies {
  pool: Pool;
  /** A streaming read replica (DATABASE_READ_URL) for the ledger's read-only routes; without it they read `pool`. */
  readPool?: Pool;
  /** How long a replica read waits for a sequence the client asked for before 503 replica_behind (default 2 s). */
  replicaWaitMs?: number;
  writer: LedgerWriter;
  logger: Logger;
  /** Rate limits and readiness; without it, rate limiting is off. */
  redis?: RedisClient;
  redisKeyPrefix?: string;
  /** The cause of the current Redis outage (null while reachable), for /ready. */
  redisHealth?: { problem(): string | null };
  rateLimitPerMinute?: number;
  /** The clock a rotated key's overlap is judged by (the system's when absent); tests drive it instead of sleeping. */
  now?: () => Date;
  /** Root keys and networks for deposit addresses; without it, the users routes answer 503. */
  derivation?: DerivationSettings;
  /** Wallet keys (derivation) and the webhook root; without them, creating wallets answers 503. */
  wallets?: { keys: WalletKeySettings; webhookRoot: Buffer | WebhookRootSource };
  /** BullMQ queues shown on the board at /admin/queues (operators); without them, no board. */
  queues?: readonly Queue[];
  /** NEAR key imports (PUT /v1/users/:id/near-key): the node that checks a key and the keystore that seals it; without them, 503. */
  near?: { rpcUrl: string; keystore: Keystore };
  /** The relayer (Defender API, seed 002 /relay), gasless forward requests and the refill view; without it those routes answer 503. */
  relay?: {
    ctx: RelayContext;
    tokens: TokenSettings;
    forwarder?: ForwarderContext;
    refills?: RefillContext;
  };
  /**
   * The remote signer (POST /signer, /api/v1/eth1/*); without it those routes answer 503.
   * `authHeader`: where clients put their token besides Authorization. `tls`: serve them over
   * mutual TLS on their own port instead of the API port (startApiServer).
   */
  remoteSigner?: { ctx: RemoteSignerContext; authHeader?: string; tls?: SignerTls };
  /** The ERC-7677 paymaster service (POST /v1/paymaster); without it that route answers 503. */
  sponsor?: SponsorContext;
  /** The verifying paymaster's signer rotation (EVM_RPC_URL, EVM_PAYMASTER_ADDRESS, the keystore); without it those routes answer 503. */
  paymasterSigner?: SignerRotationContext;
}

export type AppEnv = { Variables: { identity: ApiKeyIdentity; requestId: string; relayer: Relayer } };
