// Configuration is read once, at start, from the environment. Every variable has a default
// that works on a fresh development machine of this project's kind (PostgreSQL and Redis on
// loopback), and a bad value stops the process with a message naming the variable.
// Any variable may instead be given as a file, Docker-secret style: `<NAME>_FILE` names a file
// whose content is the value, so a password in DATABASE_URL or the keystore passphrase never has
// to sit in an environment block, an image or `docker inspect`.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
/** An amount of wei, as a decimal string (never a float). */
const wei = z.string().regex(/^\d{1,78}$/, 'must be a whole number of wei');

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must look like postgres://user@host:5432/database')
    .default('postgres://127.0.0.1:5432/coffer'),
  /** A streaming read replica of DATABASE_URL's database: the ledger's read-only API routes read it. Unset: they read DATABASE_URL. */
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must look like postgres://user@replica-host:5432/database')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must look like redis://host:6379')
    .default('redis://127.0.0.1:6379'),
  /**
   * A Redis Cluster for the jobs (BullMQ), rate limits and readiness: seed nodes as host:port,
   * comma-separated. When set it wins over REDIS_URL; unset, REDIS_URL's one server is used.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^([0-9A-Za-z.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}(,([0-9A-Za-z.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})*$/, 'must be comma-separated host:port such as 10.0.0.1:7000,10.0.0.2:7000')
    .optional(),
  REDIS_KEY_PREFIX: z.string().min(1).default('coffer:'),
  PORT: port.default(3000),
  /** The address the API binds: loopback by default, so a development machine is not open to its network; 0.0.0.0 in a container. */
  API_HOST: z.string().regex(/^[0-9A-Za-z.:-]+$/, 'must be an IP address or host name such as 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LEDGER_BATCH_SIZE_MAX: positiveInt.max(5_000).default(500),
  LEDGER_QUEUE_LENGTH_MAX: positiveInt.default(100_000),
  API_RATE_LIMIT_PER_MINUTE: positiveInt.default(1_200),
  PROJECTIONS_POLL_INTERVAL_MS: positiveInt.default(500),
  /** Encrypted operational keys; the passphrase comes from COFFER_KEYSTORE_PASSPHRASE(_FILE), read only when needed. */
  COFFER_KEYSTORE_DIR: z.string().min(1).default('.coffer/keys'),
  /**
   * Named here so it is a known variable with a `_FILE` form like the others; the keystore reads
   * it itself when it opens (signer/keystore.ts), so it never travels in the Config object's users.
   */
  COFFER_KEYSTORE_PASSPHRASE: z.string().min(1).optional(),
  /** `emulator` signs locally with development roots; `chain-signatures` uses the NEAR MPC network. */
  SIGNER_BACKEND: z.enum(['emulator', 'chain-signatures']).default('emulator'),
  NEAR_NETWORK: z.enum(['testnet', 'mainnet']).default('testnet'),
  /** The Bitcoin address prefix: bc (mainnet), tb (testnet), bcrt (regtest, the local devnet). */
  BITCOIN_NETWORK: z.enum(['mainnet', 'testnet', 'regtest']).default('regtest'),
  /** Override the published MPC root keys (chain-signatures backend), NAJ style. */
  MPC_ROOT_SECP256K1: z.string().regex(/^secp256k1:[1-9A-HJ-NP-Za-km-z]+$/, 'must look like secp256k1:<base58>').optional(),
  MPC_ROOT_ED25519: z.string().regex(/^ed25519:[1-9A-HJ-NP-Za-km-z]+$/, 'must look like ed25519:<base58>').optional(),
  /** JSON-RPC of the EVM chain the `evm` indexer follows; required only when it runs. */
  EVM_RPC_URL: z.string().regex(/^(https?|wss?):\/\//, 'must look like http://host:8545').optional(),
  /** Blocks on top of a deposit's block before it is confirmed; a deeper reorg stops the indexer. */
  EVM_FINALITY_DEPTH: z.coerce.number().int().min(0).max(10_000).default(12),
  /** The first block to index on a fresh database. */
  EVM_START_BLOCK: z.coerce.number().int().min(0).default(0),
  EVM_HEAD_POLL_INTERVAL_MS: positiveInt.default(1_000),
  /** Contracts whose events later flows act on (issues #6, #7): ERC2771Forwarder and the ERC-4337 EntryPoint. */
  EVM_FORWARDER_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').optional(),
  EVM_ENTRYPOINT_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').optional(),
  /** coffer's verifying paymaster (`verifyingPaymaster` in `coffer contracts deploy`'s output): the sponsor service signs for it. */
  EVM_PAYMASTER_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').optional(),
  /** The keystore key the sponsor service signs paymasterData with; the paymaster must accept its address (setSigner). */
  PAYMASTER_SIGNER_KEY: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a keystore key name').default('paymaster-signer'),
  /** A sponsor signature is good for this long (validUntil); short, so an unused one dies soon. */
  SPONSOR_VALIDITY_SECONDS: z.coerce.number().int().min(30).max(3_600).default(300),
  /** Per sender: at most this many paymaster signatures a minute. */
  SPONSOR_SIGNATURES_PER_MINUTE: positiveInt.max(10_000).default(10),
  /** Per sender: this many signed operations expired without inclusion within 24 h, and the sender is throttled (and an alert goes out). */
  SPONSOR_UNINCLUDED_MAX: positiveInt.max(10_000).default(5),
  /** Gas the verifying paymaster's validation may use (a signer-set read and an ecrecover need far less). */
  SPONSOR_PAYMASTER_VERIFICATION_GAS: positiveInt.max(1_000_000).default(60_000),
  /** Where deposits' custody is swept to; without it deposits are credited but not swept. */
  EVM_TREASURY_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').optional(),
  /**
   * Bitcoin (issue #19): Bitcoin Core's JSON-RPC (user:password in the URL; bcoin speaks the
   * same), where the indexer and sweeps talk. Unset: no Bitcoin indexer, no Bitcoin sweeps.
   */
  BITCOIN_RPC_URL: z.string().regex(/^https?:\/\//, 'must look like http://user:password@host:8332').optional(),
  /** Blocks on top of a deposit's block before it is confirmed (and the depth of a sweep's confirmation). */
  BITCOIN_FINALITY_DEPTH: z.coerce.number().int().min(1).max(1_000).default(6),
  /** The first block height to index on a fresh database. */
  BITCOIN_START_HEIGHT: z.coerce.number().int().min(0).default(0),
  /** Where Bitcoin deposits are swept to (any address form of the network: the script is what counts). */
  BITCOIN_TREASURY_ADDRESS: z.string().regex(/^[a-zA-Z0-9]{14,90}$/, 'must be a Bitcoin address such as bc1q…').optional(),
  /** A confirmed UTXO waits at most this long for others to share one consolidation transaction. */
  BITCOIN_SWEEP_BATCH_WINDOW_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** Fee rate bounds around `estimatesmartfee`, and the rate used when the node has no estimate (sat/vB, decimals allowed). */
  BITCOIN_FEE_RATE_MIN_SAT_VB: z.string().regex(/^\d{1,6}(\.\d{1,3})?$/, 'must be sat/vB such as 1 or 2.5').default('1'),
  BITCOIN_FEE_RATE_MAX_SAT_VB: z.string().regex(/^\d{1,6}(\.\d{1,3})?$/, 'must be sat/vB such as 500').default('500'),
  BITCOIN_FEE_RATE_FALLBACK_SAT_VB: z.string().regex(/^\d{1,6}(\.\d{1,3})?$/, 'must be sat/vB such as 10').default('10'),
  BITCOIN_POLL_INTERVAL_MS: positiveInt.default(2_000),
  /** Solana (issue #20): JSON-RPC of the cluster. Unset: no Solana indexer, no Solana sweeps. */
  SOLANA_RPC_URL: z.string().regex(/^https?:\/\//, 'must look like https://api.mainnet-beta.solana.com').optional(),
  SOLANA_TREASURY_ADDRESS: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'must be a base58 Solana address').optional(),
  /** The keystore key (ed25519) that pays Solana fees, since a deposit address holding only tokens has no SOL. */
  SOLANA_FEE_PAYER_KEY: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a keystore key name').default('solana-fee-payer'),
  /** Accepted SPL mints, CODE=mint[,CODE=mint…]; the default is mainnet USDC (the devnet plants its USDC there too). */
  SOLANA_TOKENS: z.string().regex(/^[A-Z][A-Z0-9]{0,15}=[1-9A-HJ-NP-Za-km-z]{32,44}(,[A-Z][A-Z0-9]{0,15}=[1-9A-HJ-NP-Za-km-z]{32,44})*$/, 'must be CODE=mint pairs such as USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v').default('USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v'),
  SOLANA_POLL_INTERVAL_MS: positiveInt.default(1_000),
  /** NEAR (issue #21): NEAR JSON-RPC. Unset: no NEAR indexer, no NEAR sweeps, and the chain-signatures signer cannot call the MPC contract. */
  NEAR_RPC_URL: z.string().regex(/^https?:\/\//, 'must look like https://rpc.testnet.near.org').optional(),
  /** Where NEAR deposits are swept to. */
  NEAR_TREASURY_ACCOUNT: z.string().regex(/^(([a-z0-9]+[-_])*[a-z0-9]+\.)*([a-z0-9]+[-_])*[a-z0-9]+$/, 'must be a NEAR account id such as treasury.testnet').min(2).max(64).optional(),
  /** The MPC signer contract; default: v1.signer on mainnet, v1.signer-prod.testnet on testnet. */
  NEAR_SIGNER_CONTRACT: z.string().regex(/^(([a-z0-9]+[-_])*[a-z0-9]+\.)*([a-z0-9]+[-_])*[a-z0-9]+$/, 'must be a NEAR account id such as v1.signer').min(2).max(64).optional(),
  NEAR_POLL_INTERVAL_MS: positiveInt.default(1_000),
  /** The first block a fresh database indexes (as EVM_START_BLOCK, BITCOIN_START_HEIGHT); later runs go on from their cursor. */
  NEAR_START_BLOCK: z.coerce.number().int().min(0).default(0),
  /** Accepted NEP-141 token contracts, CODE=contract[,CODE=contract…]; a user's NEAR account is registered on each (storage_deposit) when first handed out. */
  NEAR_TOKENS: z.string().regex(/^[A-Z][A-Z0-9]{0,15}=[a-z0-9._-]{2,64}(,[A-Z][A-Z0-9]{0,15}=[a-z0-9._-]{2,64})*$/, 'must be CODE=contract pairs such as USDC=usdc.devnet').optional(),
  /** coffer keeps every account it signs MPC `sign` calls as funded for signing: below this (yoctoNEAR, default 0.05 NEAR) a refill from its hot account… */
  NEAR_SIGNING_FUND_BELOW_YOCTO: z.string().regex(/^\d{1,40}$/, 'must be a whole number of yoctoNEAR').default('50000000000000000000000'),
  /** …tops it up to this (default 0.1 NEAR)… */
  NEAR_SIGNING_FUND_TO_YOCTO: z.string().regex(/^\d{1,40}$/, 'must be a whole number of yoctoNEAR').default('100000000000000000000000'),
  /** …and no account gets more than this a day (default 1 NEAR). */
  NEAR_SIGNING_DAILY_CAP_YOCTO: z.string().regex(/^\d{1,40}$/, 'must be a whole number of yoctoNEAR').default('1000000000000000000000000'),
  /** What a NEAR sweep leaves on the user's account, in yoctoNEAR (seed 004: 0.01 NEAR). */
  NEAR_SWEEP_RESERVE_YOCTO: z.string().regex(/^\d{1,40}$/, 'must be a whole number of yoctoNEAR').default('10000000000000000000000'),
  /** Per chain, the native amount below which a deposit is recorded but not credited, in whole units (`near=0.01,bitcoin=0.0001`). */
  CREDIT_MINIMUM_NATIVE: z.string().regex(/^[a-z]+=\d+(\.\d+)?(,[a-z]+=\d+(\.\d+)?)*$/, 'must be chain=amount pairs such as near=0.01').optional(),
  /** Blocks on top of a sweep transaction's block before the sweep counts as confirmed. */
  SWEEP_CONFIRMATIONS: z.coerce.number().int().min(1).max(10_000).default(12),
  /** Pyth Hermes. Tests and the demo point it at the local replay server (devnets/hermes.ts). */
  HERMES_URL: z.string().regex(/^https?:\/\//, 'must look like https://hermes.pyth.network').default('https://hermes.pyth.network'),
  /** A price published further than this from the deposit's block time is refused (stale). */
  PRICE_MAX_AGE_SECONDS: positiveInt.max(86_400).default(60),
  /** A price whose confidence interval is wider than this many basis points of it is refused. */
  PRICE_MAX_CONF_BPS: positiveInt.max(10_000).default(200),
  /** CHOCO per US dollar of deposit value (a decimal). */
  CHOCO_PER_USD: z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal number such as 100 or 0.5').default('100'),
  /** Per asset: pyth:<pair|feed id>, usd:<fixed price> or choco:<fixed CHOCO per unit>; adds to ETH, BTC, SOL and NEAR on Pyth. */
  CREDIT_ASSET_PRICING: z.string().optional(),
  /** Per chain, the USD value below which a deposit is recorded but not credited (default 1 each). */
  CREDIT_MINIMUM_USD: z.string().optional(),
  /** Attempts per job (with exponential backoff from JOB_BACKOFF_MS) before it stays failed. */
  JOB_ATTEMPTS: positiveInt.max(100).default(8),
  JOB_BACKOFF_MS: positiveInt.default(1_000),
  WORKER_CONCURRENCY: positiveInt.max(256).default(8),
  /** A job whose worker stops renewing its lock (it died) is taken over after about this long. */
  JOB_LOCK_MS: positiveInt.min(1_000).default(30_000),
  /** The NEAR account coffer calls the MPC signer as for its own keys (agent wallets: path wallet-<id>). */
  COFFER_NEAR_ACCOUNT: z.string().regex(/^(([a-z0-9]+[-_])*[a-z0-9]+\.)*([a-z0-9]+[-_])*[a-z0-9]+$/, 'must be a NEAR account id such as coffer.testnet').min(2).max(64).default('coffer.testnet'),
  /** Blocks on top of an agent spend's block before its hold is settled. */
  SPEND_CONFIRMATIONS: z.coerce.number().int().min(1).max(10_000).default(12),
  /** coffer's webhook root secret (created on first use, mode 0600); wallet webhook secrets derive from it. */
  WEBHOOK_ROOT_FILE: z.string().min(1).default('.coffer/webhook-root'),
  /** The remote signer (POST /signer, /api/v1/eth1/*) also takes the client token from this header, bare or as "Bearer <token>", for clients such as op-batcher's --signer.header that send a header of their choosing. */
  SIGNER_AUTH_HEADER: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name such as X-Signer-Token').default('Authorization'),
  /**
   * Mutual TLS for the remote signer (issue #25): its server certificate chain, its private key,
   * and the CA whose certificates clients must present. Each is a PEM file's path, or the PEM
   * itself (which is what `<NAME>_FILE` gives, so SIGNER_TLS_KEY_FILE=/run/secrets/signer-tls-key
   * works as for any secret). All three or none: with them, the signer's routes are served over
   * HTTPS on SIGNER_TLS_PORT only (infra/signer-tls.ts).
   */
  SIGNER_TLS_CERT: z.string().min(1).optional(),
  SIGNER_TLS_KEY: z.string().min(1).optional(),
  SIGNER_TLS_CLIENT_CA: z.string().min(1).optional(),
  /** The port of the mutual-TLS signer (9000: Web3Signer's own default); used only with the three above. */
  SIGNER_TLS_PORT: port.default(9000),
  /** Relayer access tokens from /auth/login expire after this (then 401 Unauthorized; the client refreshes). */
  RELAYER_ACCESS_TOKEN_TTL_SECONDS: positiveInt.max(86_400).default(3_600),
  RELAYER_REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(30 * 86_400),
  /** Blocks on top of a relayed transaction's block before it is confirmed and booked. */
  RELAYER_CONFIRMATIONS: z.coerce.number().int().min(1).max(10_000).default(12),
  /** How often in-flight relayed transactions are checked (mined? stuck? expired?). */
  RELAYER_POLL_INTERVAL_MS: positiveInt.default(2_000),
  /** The same send body from the same relayer within this window is the same transaction (client retries). */
  RELAYER_DEDUPE_WINDOW_SECONDS: positiveInt.max(86_400).default(600),
  /** No relayed fee above this, in wei (OpenZeppelin Relayer's default: 100 gwei). */
  RELAYER_GAS_PRICE_CAP_WEI: wei.default('100000000000'),
  /** A new relayer's refill thresholds and daily cap, in wei. */
  RELAYER_FUND_BELOW_WEI: wei.default('100000000000000000'),
  RELAYER_FUND_TO_WEI: wei.default('500000000000000000'),
  RELAYER_DAILY_REFILL_CAP_WEI: wei.default('5000000000000000000'),
  /** How often the refill job checks its targets. */
  REFILL_INTERVAL_SECONDS: positiveInt.default(300),
  /** The keystore key of the treasury hot wallet that pays refills. */
  TREASURY_HOT_KEY: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a keystore key name').default('treasury-hot'),
  /** Below this (in the ledger, wei) the refill job alerts: a log line and ALERT_WEBHOOK_URL. */
  TREASURY_LOW_BELOW_WEI: wei.default('1000000000000000000'),
  /** Where operational alerts are POSTed, signed like wallet webhooks. */
  ALERT_WEBHOOK_URL: z.string().regex(/^https?:\/\//, 'must look like https://host/path').optional(),
  /** Contracts gasless requests may call through the forwarder (comma-separated addresses); none = none. */
  FORWARDER_ALLOWED_TARGETS: z.string().regex(/^(0x[0-9a-fA-F]{40})(,0x[0-9a-fA-F]{40})*$/, 'must be comma-separated 0x addresses').optional(),
  /** The most gas a forward request may ask for. */
  FORWARDER_GAS_MAX: positiveInt.default(1_000_000),
  /** The relayer that relays forward requests (its id); default: the oldest relayer. */
  FORWARDER_RELAYER_ID: z.string().regex(/^rl_[a-z0-9]{16}$/, 'must be a relayer id such as rl_0123456789abcdef').optional(),
  /** Safety-net poll of the outbox (commits wake the dispatcher at once). */
  OUTBOX_POLL_INTERVAL_MS: positiveInt.default(1_000),
  /** An offered job not done after this long is offered again (a Redis that lost it). */
  OUTBOX_REOFFER_AFTER_MS: positiveInt.default(15_000),
});

export type Config = z.infer<typeof schema>;

/** Every variable the configuration knows; each may also be given as `<NAME>_FILE`. */
export const configVariables: readonly string[] = Object.keys(schema.shape);
const fileSuffix = '_FILE';

/** The environment with each `<NAME>_FILE` replaced by the file's content (without its trailing newline). */
function readFileVariables(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const resolved: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const variable of configVariables) {
    const file = env[`${variable}${fileSuffix}`];
    if (file === undefined) continue;
    if (env[variable] !== undefined) {
      problems.push(`  ${variable}: set either ${variable} or ${variable}${fileSuffix}, not both`);
      continue;
    }
    try {
      resolved[variable] = readFileSync(file, 'utf8').trimEnd();
    } catch (error) {
      // The path is not secret; the content never appears in a message.
      problems.push(`  ${variable}${fileSuffix}: cannot read ${file} (${error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'})`);
    }
  }
  return { env: resolved, problems };
}

export class ConfigError extends Error {
  static readonly codes = ['invalid_config'] as const;
  override name = 'ConfigError';
  readonly code = 'invalid_config';
}

/** Variables that only make sense together. The messages name variables, never their values. */
function crossVariableProblems(config: Config): string[] {
  const problems: string[] = [];
  const tls = ['SIGNER_TLS_CERT', 'SIGNER_TLS_KEY', 'SIGNER_TLS_CLIENT_CA'] as const;
  const missing = tls.filter((variable) => config[variable] === undefined);
  if (missing.length > 0 && missing.length < tls.length) {
    problems.push(`  ${missing.join(', ')}: mutual TLS for the remote signer needs ${tls.join(', ')} together (set all three, or none); ${missing.length === 1 ? 'this one is' : 'these are'} missing`);
  }
  if (missing.length === 0 && config.SIGNER_TLS_PORT === config.PORT) problems.push(`  SIGNER_TLS_PORT: must differ from PORT (${config.PORT}), where the plain-HTTP API listens`);
  return problems;
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const { env, problems } = readFileVariables(environment);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  const parsed = schema.safeParse(env);
  if (parsed.success) {
    const problems = crossVariableProblems(parsed.data);
    if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
    return parsed.data;
  }
  const lines = parsed.error.issues.map((issue) => {
    const variable = issue.path.join('.');
    // Never echo the value: a malformed URL may still carry a password.
    return `  ${variable}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
