import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createPool, loadConfig, type Pool } from '../../infra/index.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Command = (args: string[]) => Promise<number>;

/**
 * A command whose module loads only when it runs. Each command pulls in its own rooms (chains'
 * SDKs, the API, the workers); loading all of them made every `coffer` process, even `--help`,
 * pay for every command's imports.
 */
function lazy<M>(load: () => Promise<M>, pick: (module: M) => Command): Command {
  return async (args) => pick(await load())(args);
}

/** A subcommand: what runs it, and its usage (`coffer <name> --help` prints only that). */
export interface CommandEntry {
  run: Command;
  usage: string;
}

export const commands: Record<string, CommandEntry> = {
  demo: {
    run: lazy(() => import('./demo.ts'), (module) => module.demo),
    usage: `  demo [--ci] [--port N]                the newcomer's first command (npm run demo): anvil, a local
                                        Hermes, a fresh database, coffer start, one user's ETH and
                                        token deposits followed to credit and sweep, then balances,
                                        trial balance and verify; --ci exits 0 only if all succeeded
                                        (and removes what it made); without it the API stays up
  demo clean                            drop the databases (coffer_demo_*) and Redis keys
                                        (coffer-demo-*) interactive demos left behind
`,
  },
  migrate: {
    run: lazy(() => import('./migrate.ts'), (module) => module.migrateCommand),
    usage: `  migrate                               create the database if needed and apply migrations
`,
  },
  start: {
    run: lazy(() => import('./start.ts'), (module) => module.start),
    usage: `  start [--api] [--projections] [--workers] [--indexers evm] [--port N]
                                        run the API (default port 3000), projection followers,
                                        the workers (outbox dispatcher + BullMQ) and the indexers
                                        named; with no flag, everything configured (the workers and
                                        each indexer in their own supervised process; the evm
                                        indexer when EVM_RPC_URL is set); the API binds API_HOST
                                        (default 127.0.0.1)
`,
  },
  indexer: {
    run: lazy(() => import('./indexer.ts'), (module) => module.indexerCommand),
    usage: `  indexer run --chain evm               follow the chain (EVM_RPC_URL) into the ledger
  indexer rescan --chain evm --from N   re-read finalized blocks from N for deposits to addresses
                                        registered after they were paid
  indexer rewind --chain evm --to N [--json]
                                        after a reorg deeper than the finality depth: reverse
                                        deposits from blocks the chain no longer has, move the
                                        cursor back to N and let the indexer start again
  indexer status [--json]               cursor, chain head, lag and stop reason per indexer
`,
  },
  keys: {
    run: lazy(() => import('./keys.ts'), (module) => module.keys),
    usage: `  keys create --role <role> [--name <n>] [--user <id>] [--json]
                                        create an API key (roles: user, agent, auditor, operator,
                                        sponsor; a user key is scoped to --user); printed once
  keys rotate <id> [--overlap <duration>] [--json]
                                        a new key with the same role and scope, printed once; the
                                        old one keeps working for the overlap (default 24h; 0, 90s,
                                        15m, 7d …), then is refused. Agent keys too. Audited
  keys revoke <id>                      revoke an API key
  keys create-signing-key --name <n> --curve secp256k1|ed25519
                                        a new operational key in the encrypted keystore; prints only
                                        its public key and address
`,
  },
  keystore: {
    run: lazy(() => import('./keystore.ts'), (module) => module.keystoreCommand),
    usage: `  keystore rekey --new-passphrase-file <path> [--json]
                                        re-encrypt every keystore key under a new passphrase, each
                                        file replaced atomically; run it again after an interruption
                                        and it finishes. Audited
`,
  },
  webhooks: {
    run: lazy(() => import('./webhooks.ts'), (module) => module.webhooksCommand),
    usage: `  webhooks rotate-root [--overlap <duration>] [--json]
                                        a new webhook root; every webhook is signed with the old and
                                        the new secrets (two v1 in Coffer-Signature) for the overlap
                                        (default 24h), so receivers can switch. Audited
`,
  },
  rotations: {
    run: lazy(() => import('./rotations.ts'), (module) => module.rotationsCommand),
    usage: `  rotations [--kind <kind>] [--subject <s>] [--limit N] [--json]
                                        the audit log of key rotations, newest first (kinds: api_key,
                                        agent_key, keystore_passphrase, webhook_root, relayer_key,
                                        treasury_hot_key)
`,
  },
  users: {
    run: lazy(() => import('./users.ts'), (module) => module.usersCommand),
    usage: `  users import-near-key --user <id> | --account <COFFER_NEAR_ACCOUNT> [--json]
                                        a NEAR account's private key (ed25519:…, read from standard
                                        input) into the encrypted keystore, once the chain confirms
                                        it is a full-access key of that account; prints its public key
`,
  },
  verify: {
    run: lazy(() => import('./verify.ts'), (module) => module.verify),
    usage: `  verify [--json]                       re-check every ledger invariant; exit 1 on any violation
`,
  },
  projections: {
    run: lazy(() => import('./projections.ts'), (module) => module.projectionsCommand),
    usage: `  projections list                      projections and their checkpoints
  projections replay [name] [--swap] [--json]
                                        rebuild from the journal into a shadow table, print the
                                        diff against the live one, swap only with --swap
`,
  },
  bench: {
    run: lazy(() => import('./bench.ts'), (module) => module.bench),
    usage: `  bench ledger [--json] [--quick]       measure the ledger writer, baselines and replay
  bench indexer [--json] [--quick]      EVM indexer blocks/s against a no-op store; RSS 5k vs 50k blocks
  bench indexer --chain bitcoin|near|solana [--json] [--quick]
                                        that chain's indexer against a bare fetch-and-decode loop
                                        of the same blocks (bcoin regtest / NEAR / LiteSVM devnet)
  bench pipeline [--json] [--quick]     confirmation → credit through outbox, BullMQ and Hermes:
                                        latency p50/p95 and deposits/s against direct calls
  bench workers [--json] [--quick]      credits/s with 1 and with 3 'coffer start --workers' processes
                                        on one PostgreSQL and Redis (ratio three_vs_one)
  bench derive [--json] [--quick]       deposit-address derivations per second
  bench relayer [--json] [--quick]      relayed transactions per minute on anvil (Defender API)
                                        against raw signed sends of the same key
  bench signer [--json] [--quick]       remote signer eth_signTransaction/s over HTTP (policy, audit)
                                        against health_status and in-process signing
  bench sponsor [--json] [--quick]      sponsorship decisions/s and p95 of pm_getPaymasterData
                                        (policy checked, decision recorded) against signing alone
`,
  },
  derive: {
    run: lazy(() => import('./derive.ts'), (module) => module.derive),
    usage: `  derive --predecessor <near account> --path <path> --chain ethereum|bitcoin|solana
         [--network mainnet|testnet] [--root <secp256k1:…|ed25519:…>] [--bitcoin-network mainnet|testnet|regtest]
                                        the NEAR Chain Signatures deposit address, as one JSON object
`,
  },
  relayers: {
    run: lazy(() => import('./relayers.ts'), (module) => module.relayersCommand),
    usage: `  relayers create --chain ethereum [--name N] [--fund-below W --fund-to W --daily-cap W] [--json]
                                        a relayer: a new key in the keystore, an API key and secret
                                        (printed once) for the Defender-compatible API, and a
                                        refill target for its EOA
  relayers list [--json]                relayers and their addresses
  relayers rotate-key <id> [--json]     a new signing key for the relayer (its id and credentials
                                        stay): funded by the refill job, then it signs; the old key
                                        finishes what it has in flight, its balance moves to the new
                                        key (booked), and it is retired. Audited
`,
  },
  treasury: {
    run: lazy(() => import('./relayers.ts'), (module) => module.treasuryCommand),
    usage: `  treasury create | show | record-funding --tx <hash>
                                        the treasury hot wallet that pays refills: create its key,
                                        show its balances, book ETH an operator sent to it
  treasury record-funding --chain solana --tx <signature> [--json]
                                        book SOL sent to the sweeps' fee payer (SOLANA_FEE_PAYER_KEY)
  treasury record-funding --chain near --tx <hash> --from <sender> [--json]
                                        book NEAR sent to coffer's hot account (COFFER_NEAR_ACCOUNT)
  treasury rotate [--json]              rotate the hot wallet's key: a new key pays refills at once,
                                        the old key's refills in flight settle, its balance moves to
                                        the new key (booked), and it is retired; a run that finds a
                                        rotation under way completes it. Audited
`,
  },
  refills: {
    run: lazy(() => import('./relayers.ts'), (module) => module.refillsCommand),
    usage: `  refills target --name N --kind balance|entrypoint-deposit --address A [--entry-point E]
         --fund-below W --fund-to W --daily-cap W
                                        keep an EOA (bundler) or a paymaster's EntryPoint deposit
                                        topped up from the treasury hot wallet (amounts in wei)
  refills list | run                    the targets; one refill pass now
`,
  },
  signer: {
    run: lazy(() => import('./signer.ts'), (module) => module.signerCommand),
    usage: `  signer keys create --name <n> [--mpc [--path <p>]] [--json]
                                        a remote-signer key: new in the keystore, or derived from the
                                        MPC root for COFFER_NEAR_ACCOUNT (path remote-signer/<n>);
                                        prints {"name","address"}; it signs nothing until it has a policy
  signer keys list [--json]             keys, addresses, sources and policy versions
  signer clients create --keys <n>[,<m>] [--name <n>] [--json]
                                        a signing client (op-batcher, a Web3Signer client) for those
                                        keys; prints {"id","token"} once (sent as Bearer <token>)
  signer clients list | revoke <id>     the clients; revoke one
  signer policy set --key <n> --file <json>
                                        a key's policy: {"rules":[…]} with chain_ids, recipients,
                                        contracts, selectors, per_tx_cap, window_limit, velocity,
                                        hours, cooldown, fee_cap, messages (see README)
  signer policy show --key <n>          the key's policy and its version
  signer events [--key <n>] [--kind signed|refused|policy_set] [--limit N] [--json]
                                        the audit trail, newest first
`,
  },
  devnet: {
    run: lazy(() => import('./devnet.ts'), (module) => module.devnetCommand),
    usage: `  devnet ethereum|bitcoin|solana|near|hermes|alto [--host H] [--port N] [--json]
                                        start one local chain (or the Hermes price replay server)
                                        on a free loopback port, or on --host/--port (compose),
                                        until Ctrl-C; the first line (one JSON object with --json)
                                        gives its rpcUrl and a funded faucet; bitcoin serves the
                                        credentials of BITCOIN_RPC_URL when it is set; alto is the
                                        ERC-4337 bundler on EVM_RPC_URL's anvil (executor key from
                                        ALTO_EXECUTOR_PRIVATE_KEY(_FILE); the dev-tools image only),
                                        started once the EntryPoint is deployed
`,
  },
  contracts: {
    run: lazy(() => import('./contracts.ts'), (module) => module.contracts),
    usage: `  contracts deploy --rpc <url> [--treasury <address>] [--deployer <address>] [--paymaster-signer <address>]…
                                        deploy EntryPoint v0.8 and SimpleAccountFactory at their
                                        canonical addresses (CREATE2), ERC2771Forwarder, the test
                                        token, the payment gateway, the allowlist paymaster and
                                        the verifying paymaster (accepting each --paymaster-signer,
                                        staked); prints their addresses
`,
  },
  paymaster: {
    run: lazy(() => import('./paymaster.ts'), (module) => module.paymasterCommand),
    usage: `  paymaster policy set --file <json>    the sponsorship policy ({"rules":[…]}; the same document
                                        as PUT /v1/paymaster/policy); a new version
  paymaster policy show | decisions [--sender <address>]
                                        the policy in force; the latest sponsorship decisions
  paymaster reconcile [--rpc <url>]     each paymaster deposit account against the EntryPoint's
                                        balanceOf at the indexer's finalized block; exit 1 if apart
  paymaster signer rotate [--overlap <duration>] [--json]
                                        a new keystore key for the verifying paymaster: setSigner
                                        (new, true), the service signs with it at once; the old key
                                        leaves the signer set after the overlap (default 24h) and
                                        its last validUntil. Resumes a stopped rotation; audited
  paymaster signer show                 the active signing key and the rotations
`,
  },
};

const configurationNote = 'Configuration comes from the environment (DATABASE_URL, REDIS_URL, PORT, ...): see README.md.\n';

export const usage = `usage: coffer <command> [options]    (coffer <command> --help: that command only)\n\n${Object.values(commands).map((c) => c.usage).join('')}\n${configurationNote}`;

export const commandUsage = (name: string, entry: CommandEntry): string => `usage: coffer ${name} …\n\n${entry.usage}\n${configurationNote}`;

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

/** A pool on DATABASE_URL for the length of one command, always closed afterwards. */
export async function withDatabase<T>(connectionsMax: number, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool({ connectionString: loadConfig().DATABASE_URL, max: connectionsMax, applicationName: 'coffer-cli' });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
