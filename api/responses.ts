// The JSON of every 2xx answer, as zod schemas. The serializers are typed by them (so the
// compiler holds each answer to its schema) and /openapi.json is generated from them (so the
// documentation is the schema); api/openapi.test.ts checks real answers against them.
// Whole numbers that can exceed 2^53 (amounts, ids, sequences) are decimal strings; times are
// ISO 8601 strings in UTC. Objects are strict: a field the schema does not name is drift.
import { z } from 'zod';
import { evmChain } from '../chains/index.ts';
import { depositChains } from '../users/index.ts';
import { policySchema, severities, spendStatuses } from '../wallets/index.ts';
import { speeds } from '../relayer/index.ts';
import { rotationKinds, rotationSteps } from '../rotations/index.ts';

const decimal = z.string().regex(/^-?[0-9]+$/).describe('a whole number as a decimal string (minor units for amounts)');
const formatted = z.string().regex(/^-?[0-9]+(\.[0-9]+)?$/).describe('an amount in whole units as a decimal string, for display');
const time = z.iso.datetime().describe('an ISO 8601 time in UTC');
const hex = z.string().regex(/^0x[0-9a-fA-F]*$/).describe('0x-prefixed hex');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/).describe('a 0x address of 20 bytes');
const jsonObject = z.record(z.string(), z.unknown());
const count = z.number().int().min(0);
const nextCursor = z.string().nullable().describe('pass as the cursor of the next request; null on the last page');

/** coffer's one paging shape: a page of `data` and the cursor of the next page. */
const page = <Item extends z.ZodType>(item: Item) => z.strictObject({ data: z.array(item), nextCursor });

export const health = z.strictObject({ status: z.literal('ok') });
export const ready = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.string()).describe('per dependency (postgres, redis): "ok" or why not'),
});

// Ledger.
export const asset = z.strictObject({ code: z.string(), scale: count, chain: z.string().nullable(), contract: z.string().nullable() });
export const assets = z.strictObject({ data: z.array(asset) });
export const posting = z.strictObject({ index: count, source: z.string(), destination: z.string(), asset: z.string(), amount: decimal });
export const entry = z.strictObject({
  id: decimal.describe('the journal sequence'),
  kind: z.string(),
  idempotencyKey: z.string(),
  requestHash: z.string(),
  effectiveAt: time,
  insertedAt: time,
  sourceRef: z.string().nullable(),
  metadata: jsonObject,
  reverses: decimal.nullable(),
  postings: z.array(posting),
});
export const entriesPage = page(entry);
export const statementLine = z.strictObject({
  entryId: decimal,
  postingIndex: count,
  kind: z.string(),
  effectiveAt: time,
  counterparty: z.string(),
  amount: decimal.describe('signed: negative when the account is the source'),
  balanceAfter: decimal,
});
export const statement = z.strictObject({ account: z.string(), asset: z.string(), openingBalance: decimal, data: z.array(statementLine), nextCursor });
export const balance = z.strictObject({ account: z.string(), asset: z.string(), balance: decimal, formatted });
export const balances = z.strictObject({ asOf: time.nullable(), asOfSequence: decimal.nullable(), data: z.array(balance) });
export const trialBalanceLine = z.strictObject({ asset: z.string(), debits: decimal, credits: decimal, net: decimal, balanced: z.boolean() });
export const trialBalance = z.strictObject({ balanced: z.boolean(), data: z.array(trialBalanceLine) });
export const verifyReport = z.strictObject({
  ok: z.boolean(),
  entries: decimal,
  postings: decimal,
  seals: decimal,
  durationMs: z.number(),
  checks: z.array(z.strictObject({ name: z.string(), ok: z.boolean(), message: z.string(), firstBrokenEntryId: decimal.nullable() })),
});

// Users.
export const user = z.strictObject({ id: z.string(), nearAccountId: z.string(), isSweepEnabled: z.boolean(), createdAt: time });
export const nearKey = z.strictObject({
  userId: z.string(),
  accountId: z.string(),
  publicKey: z.string().describe('ed25519:<base58>, a full-access key of the account; the secret is sealed in the keystore and never answered'),
  status: z.enum(['imported', 'already_imported']),
});
export const depositAddress = z.strictObject({
  userId: z.string(),
  chain: z.enum(depositChains),
  network: z.string(),
  address: z.string(),
  uri: z.string().describe('for wallets and QR codes: ethereum:, bitcoin: (BIP 21), solana: (Solana Pay), near:'),
  path: z.string(),
  predecessor: z.string(),
  publicKey: z.string().nullable(),
  createdAt: time,
});
export const deposit = z.strictObject({
  id: decimal.describe('the journal entry that booked the deposit'),
  chain: z.string(),
  address: z.string(),
  tx: z.string(),
  logIndex: count.nullable(),
  asset: z.string(),
  amount: decimal,
  formatted,
  blockHeight: count,
  blockHash: z.string(),
  confirmations: count.nullable().describe('null once reverted'),
  finalityDepth: count.nullable(),
  status: z.enum(['pending', 'confirmed', 'reverted']),
  effectiveAt: time,
});
export const depositsPage = page(deposit);
export const depositStep = z.strictObject({
  step: z.enum(['deposit', 'confirmed', 'reversed', 'credited', 'not_credited', 'credit_reversed', 'sweep']),
  at: time,
  entryId: decimal.nullable().describe('the journal entry that booked the step'),
  asset: z.string(),
  amount: decimal.nullable(),
  formatted: formatted.nullable(),
  txHash: z.string().nullable().describe('the chain transaction (deposit, sweep)'),
  pricing: z.string().nullable().describe('credited: choco, usd or pyth'),
  rate: z.string().nullable().describe('credited: the fixed rate per whole unit, or the Pyth price as <price>e<expo>'),
  reason: z.string().nullable().describe('why not credited, or why a sweep failed or was skipped'),
  status: z.string().nullable().describe('sweep: waiting_for_gas, submitted, confirmed, failed or skipped'),
  fee: decimal.nullable().describe('sweep: the fee paid, in the chain\'s fee asset'),
});
export const depositHistory = z.strictObject({
  id: decimal.describe('the journal entry that booked the deposit'),
  chain: z.string(),
  address: z.string(),
  asset: z.string(),
  amount: decimal,
  formatted,
  txHash: z.string().nullable(),
  steps: z.array(depositStep).describe('deposit → confirmed → credited or not_credited → sweep, oldest first'),
});
export const userBalances = z.strictObject({
  userId: z.string(),
  choco: z.strictObject({ balance: decimal, formatted }),
  balances: z.array(
    z.strictObject({ chain: z.string(), asset: z.string(), pending: decimal, confirmed: decimal, pendingFormatted: formatted, confirmedFormatted: formatted }),
  ),
});

// Wallets and spends.
const windowSpec = z.union([
  z.strictObject({ rolling: z.string() }),
  z.strictObject({ calendar: z.enum(['day', 'week', 'month']), timeZone: z.string().optional(), weekStartsOn: z.enum(['monday', 'sunday']).optional() }),
]);
export const budget = z.strictObject({
  rule: z.string(),
  type: z.enum(['window_limit', 'velocity']),
  asset: z.string().nullable(),
  window: windowSpec,
  since: z.string(),
  max: decimal.describe('minor units for window limits, a count of spends for velocity'),
  used: decimal,
  remaining: decimal,
});
export const wallet = z.strictObject({
  id: z.string(),
  ownerUserId: z.string(),
  chain: z.literal(evmChain),
  address,
  frozen: z.boolean(),
  frozenAt: time.nullable(),
  frozenReason: z.string().nullable(),
  lockedDown: z.boolean(),
  webhookUrl: z.string().nullable(),
  policyVersion: count.nullable(),
  balances: z.array(z.strictObject({ asset: z.string(), available: decimal, held: decimal, pending: decimal, availableFormatted: formatted })),
  budgets: z.array(budget),
  createdAt: time,
});
export const newWallet = wallet.extend({ webhookSecret: z.string().describe('signs webhook bodies; shown here and by PUT /webhook') });
export const storedPolicy = z.strictObject({ walletId: z.string(), version: count, createdBy: z.string(), createdAt: time, policy: policySchema });
export const webhook = z.strictObject({
  walletId: z.string(),
  webhookUrl: z.string().nullable(),
  webhookSecret: z.string(),
  previousWebhookSecret: z.string().nullable().describe('while a rotated webhook root overlaps its successor: the old secret, still signing every webhook beside the new one'),
  previousSecretValidUntil: time.nullable(),
});
export const rotatedKey = z.strictObject({
  id: z.string(),
  role: z.enum(['user', 'agent', 'auditor', 'operator', 'sponsor']),
  key: z.string().describe('the new key, shown only here'),
  replaces: z.string().describe('the rotated key, valid until oldExpiresAt'),
  oldExpiresAt: time,
});
export const rotation = z.strictObject({
  id: decimal,
  kind: z.enum(rotationKinds),
  subject: z.string(),
  step: z.enum(rotationSteps),
  oldRef: z.string().nullable(),
  newRef: z.string().nullable(),
  overlapUntil: time.nullable(),
  actor: z.string(),
  detail: jsonObject,
  at: time,
});
export const rotationsPage = page(rotation);
export const relayerKeyRotation = z.strictObject({
  relayerId: z.string(),
  oldAddress: address.describe('signs until the new key is funded and active, then drains into it and is retired'),
  newAddress: address,
  keyName: z.string().describe('the new key\'s name in the keystore (the key itself never leaves it)'),
});
export const treasuryRotation = z.strictObject({
  resumed: z.boolean().describe('true when this call completed a rotation started before instead of starting one'),
  status: z.enum(['draining', 'retired']).describe('draining: the old key\'s refills in flight or its drain are not mined yet; the refill job completes it'),
  oldKeyName: z.string(),
  oldAddress: address,
  newKeyName: z.string(),
  newAddress: address.describe('the active treasury key: refills are paid from it from now on'),
  drain: z.strictObject({ amount: decimal, hash: z.string(), entryId: decimal.nullable() }).nullable().describe('the transfer of the old key\'s balance to the new one, once sent'),
});
export const walletEvent = z.strictObject({ id: decimal, kind: z.string(), spendId: z.string().nullable(), actor: z.string(), detail: jsonObject, at: time });
export const walletEventsPage = page(walletEvent);
const ruleTypes = ['per_tx_cap', 'window_limit', 'recipients', 'contracts', 'selectors', 'tokens', 'hours', 'cooldown', 'velocity', 'system'] as const;
export const violation = z.strictObject({
  rule: z.string(),
  type: z.enum(ruleTypes),
  code: z.string(),
  severity: z.enum(severities),
  message: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
});
export const spend = z.strictObject({
  id: z.string(),
  walletId: z.string(),
  status: z.enum(spendStatuses),
  code: z.string().nullable(),
  asset: z.string(),
  amount: decimal,
  to: address,
  transaction: z.strictObject({ to: address, value: decimal, data: hex, nonce: count.nullable(), hash: hex.nullable() }),
  violations: z.array(violation),
  policyVersion: count.nullable(),
  approvalDeadline: time.nullable(),
  decidedBy: z.string().nullable(),
  gasReserve: decimal.nullable(),
  fee: decimal.nullable(),
  holdEntryId: decimal.nullable(),
  settledEntryId: decimal.nullable(),
  createdAt: time,
  updatedAt: time,
});
export const spendsPage = page(spend).extend({ nextCursor: time.nullable().describe('pass as the cursor of the next request; null on the last page') });

// Admin.
export const indexer = z.strictObject({
  indexer: z.string(),
  chain: z.string(),
  processedHeight: count,
  finalizedHeight: count,
  chainHead: count.nullable(),
  lag: z.number().int().nullable(),
  finalityDepth: count,
  openDeposits: count,
  status: z.enum(['running', 'stopped']),
  stoppedReason: z.string().nullable(),
  chainHeadAt: time.nullable(),
  updatedAt: time,
});
export const indexers = z.strictObject({ indexers: z.array(indexer) });
export const refills = z.strictObject({
  treasury: z
    .discriminatedUnion('status', [
      z.strictObject({
        status: z.literal('configured'),
        address: address.describe('the active treasury key: refills are paid from it'),
        keyName: z.string(),
        account: z.string(),
        ledgerBalance: decimal,
        onChainBalance: decimal.nullable().describe('null when the node did not answer'),
        draining: z
          .strictObject({ address, keyName: z.string(), account: z.string(), ledgerBalance: decimal, onChainBalance: decimal.nullable() })
          .nullable()
          .describe('during a treasury key rotation: the old key, until its balance is moved to the active one and it is retired'),
      }),
      z.strictObject({ status: z.literal('not_configured'), keyName: z.string(), hint: z.string() }),
    ])
    .describe('the treasury hot wallet, or not_configured until `coffer treasury create`'),
  targets: z.array(
    z.strictObject({
      chain: z.string().describe('ethereum (relayers, the bundler, paymaster deposits) or near (accounts coffer signs MPC calls as)'),
      name: z.string(),
      kind: z.enum(['balance', 'entrypoint-deposit']),
      address: z.union([address, z.string().regex(/^[a-z0-9._-]{2,64}$/).describe('a NEAR account id')]),
      entryPoint: address.nullable(),
      account: z.string(),
      relayerId: z.string().nullable(),
      balance: decimal.nullable().describe('null when the node did not answer'),
      fundBelow: decimal,
      fundTo: decimal,
      dailyCap: decimal,
      refilledToday: decimal,
    }),
  ),
  history: z.array(
    z.strictObject({
      id: decimal,
      target: z.string(),
      amount: decimal,
      balanceBefore: decimal,
      status: z.enum(['submitted', 'confirmed', 'failed']),
      statusReason: z.string().nullable(),
      txHash: hex,
      fee: decimal.nullable(),
      createdAt: time,
      settledAt: time.nullable(),
    }),
  ),
});
export const forwardRequest = z.strictObject({
  id: z.string(),
  status: z.enum(['queued', 'relayed', 'executed', 'failed', 'expired']),
  statusReason: z.string().nullable(),
  forwarder: address,
  from: address,
  to: address,
  nonce: decimal,
  gas: decimal,
  deadline: count.describe('unix seconds'),
  relayerId: z.string().nullable(),
  relayTransactionId: z.string().nullable(),
  txHash: hex.nullable(),
  createdAt: time,
});

// Defender's relay-signer API, in the shapes coffer answers with (its client reads these).
export const tokens = z.strictObject({ accessToken: z.string(), refreshToken: z.string() });
const relayStatuses = ['pending', 'sent', 'submitted', 'inmempool', 'mined', 'confirmed', 'failed', 'expired'] as const;
export const defenderTransaction = z.strictObject({
  transactionId: z.string(),
  hash: hex,
  to: address.optional(),
  from: address,
  value: hex.describe('wei, as 0x hex'),
  data: hex,
  speed: z.enum(speeds).optional(),
  gasLimit: count,
  nonce: count,
  status: z.enum(relayStatuses),
  chainId: count,
  validUntil: time,
  createdAt: time,
  pricedAt: time,
  sentAt: time.optional(),
  minedAt: time.optional(),
  isPrivate: z.boolean(),
  signature: z.strictObject({ v: hex, r: hex, s: hex }),
  gasPrice: count.optional().describe('wei per gas, legacy transactions'),
  maxFeePerGas: count.optional().describe('wei per gas, EIP-1559 transactions'),
  maxPriorityFeePerGas: count.optional(),
  statusReason: z.string().optional(),
});
export const defenderTransactions = z.union([
  z.array(defenderTransaction).describe('without usePagination'),
  z.strictObject({ items: z.array(defenderTransaction), next: z.string().optional().describe('absent on the last page') }).describe('with usePagination=true'),
]);
export const defenderCancel = defenderTransaction.extend({ message: z.string() });
export const relayerStatus = z.strictObject({
  relayerId: z.string(),
  name: z.string(),
  nonce: count.describe('the next nonce'),
  address,
  numberOfPendingTransactions: count,
  paused: z.boolean(),
  pendingTxCost: decimal.describe('wei'),
  txsQuotaUsage: count,
  rpcQuotaUsage: count,
  lastConfirmedTransaction: z.strictObject({ hash: hex, status: z.enum(relayStatuses), minedAt: time.optional(), sentAt: time.optional(), nonce: count }).optional(),
});
export const relayer = z.strictObject({
  relayerId: z.string(),
  name: z.string(),
  address,
  network: z.string(),
  chainId: count,
  paused: z.boolean(),
  createdAt: time,
  pendingTxCost: decimal.describe('wei'),
  minBalance: decimal.describe('wei'),
  policies: z.strictObject({ gasPriceCap: decimal.describe('wei per gas'), whitelistReceivers: z.array(address).optional(), EIP1559Pricing: z.boolean(), privateTransactions: z.boolean() }),
});
export const signature = z.strictObject({ sig: hex, r: hex, s: hex, v: count });
const rpcId = z.union([z.number(), z.string(), z.null()]);
export const jsonRpcAnswer = z.union([
  z.strictObject({ jsonrpc: z.literal('2.0'), id: rpcId, result: z.unknown() }),
  z.strictObject({ jsonrpc: z.literal('2.0'), id: rpcId, error: z.strictObject({ code: z.number().int(), message: z.string(), data: z.record(z.string(), z.unknown()).optional().describe('the remote signer: {reason} (a stable code), and for a policy refusal every violated rule') }) }),
]);

// Seed 002's relay service.
export const relayedSeed = z.strictObject({ transactionId: z.string(), hash: hex, status: z.string().describe('pending (not yet mined), mined, confirmed, failed or expired') });
export const relayerBalance = z.strictObject({ address, balance: decimal.describe('wei') });

/**
 * The schemas /openapi.json names under components.schemas, each by its name there. Every
 * schema an answer uses is listed, so the generator puts shared parts behind a $ref.
 */
// The remote signer (issue #25).
export const signerPublicKeys = z.array(z.string().regex(/^0x[0-9a-f]{128}$/)).describe("Web3Signer's key identifiers: uncompressed secp256k1 points without the 04 prefix");
export const signerKey = z.strictObject({
  name: z.string(),
  address,
  publicKey: z.string().regex(/^0x[0-9a-f]{128}$/),
  source: z.enum(['keystore', 'mpc']),
  predecessor: z.string().nullable().describe('MPC-derived keys: the NEAR account that calls the signer contract'),
  path: z.string().nullable().describe('MPC-derived keys: the derivation path'),
  policyVersion: count.describe('0: no policy yet, so the key signs nothing'),
  policy: jsonObject.nullable(),
  createdAt: time,
});
export const signerKeys = z.strictObject({ data: z.array(signerKey) });
export const signerEvent = z.strictObject({
  id: decimal,
  key: z.string(),
  kind: z.enum(['signed', 'refused', 'policy_set']),
  actor: z.string().describe('the signing client id; for policy_set, the operator'),
  method: z.string().nullable(),
  digest: hex.nullable().describe('the 32-byte digest that was signed'),
  chainId: decimal.nullable(),
  value: decimal.nullable(),
  code: z.string().nullable().describe('a refusal: the reason code'),
  detail: jsonObject.describe('the decoded request, the signature or every violated rule, the policy version'),
  at: time,
});
export const signerEvents = page(signerEvent);

// ERC-4337 sponsorship (issue #24): the paymaster service's policy and its decisions.
export const storedSponsorPolicy = z.strictObject({
  version: count,
  policy: jsonObject.describe('the document as set: {"rules":[…]} (global, per_sender, per_operation, senders, targets, selectors, active, gas)'),
  setBy: z.string().nullable().describe('the API key id (or "cli") that set it'),
  createdAt: time,
});
export const sponsorDecision = z.strictObject({
  id: decimal,
  decidedAt: time,
  method: z.enum(['pm_getPaymasterStubData', 'pm_getPaymasterData']),
  outcome: z.enum(['stub', 'signed', 'refused']),
  reason: z.string().nullable().describe('a refusal: its reason code'),
  message: z.string().nullable(),
  sender: address,
  nonce: decimal,
  maxCost: decimal.describe('wei: what the operation may cost at most (every gas limit × maxFeePerGas)'),
  validUntil: time.nullable().describe('signed: when the signature expires'),
  actualGasCost: decimal.nullable().describe('wei, once the indexer saw the operation included'),
  includedTxHash: hex.nullable(),
});
export const sponsorDecisions = z.strictObject({ decisions: z.array(sponsorDecision).describe('newest first, at most 200') });

export const paymasterSignerRotation = z.strictObject({
  id: decimal,
  paymaster: address,
  status: z.enum(['prepared', 'activated', 'retired']).describe('prepared: a new key, not yet accepted on chain; activated: the service signs with it; retired: the old key left the signer set'),
  oldKeyName: z.string(),
  oldAddress: address,
  newKeyName: z.string().describe('the keystore key (no secret)'),
  newAddress: address,
  overlapSeconds: count,
  activatedAt: time.nullable(),
  retireAfter: time.nullable().describe('the old key leaves the signer set after this and once the last operation it signed has expired'),
  retiredAt: time.nullable(),
});
export const paymasterSigner = z.strictObject({
  paymaster: address,
  activeKey: z.string().describe('the keystore key the service signs with'),
  rotations: z.array(paymasterSignerRotation).describe('newest first'),
});

export const responseSchemas = {
  Health: health,
  Ready: ready,
  Asset: asset,
  Assets: assets,
  Posting: posting,
  JournalEntry: entry,
  JournalEntryPage: entriesPage,
  Statement: statement,
  Balance: balance,
  Balances: balances,
  TrialBalance: trialBalance,
  VerifyReport: verifyReport,
  User: user,
  NearKey: nearKey,
  DepositAddress: depositAddress,
  Deposit: deposit,
  DepositPage: depositsPage,
  DepositHistory: depositHistory,
  UserBalances: userBalances,
  Budget: budget,
  Wallet: wallet,
  CreatedWallet: newWallet,
  StoredPolicy: storedPolicy,
  Webhook: webhook,
  WalletEventPage: walletEventsPage,
  Violation: violation,
  Spend: spend,
  SpendPage: spendsPage,
  Indexers: indexers,
  Refills: refills,
  RelayerKeyRotation: relayerKeyRotation,
  TreasuryRotation: treasuryRotation,
  RotatedKey: rotatedKey,
  Rotation: rotation,
  RotationPage: rotationsPage,
  ForwardRequest: forwardRequest,
  Tokens: tokens,
  DefenderTransaction: defenderTransaction,
  DefenderTransactions: defenderTransactions,
  DefenderCancel: defenderCancel,
  RelayerStatus: relayerStatus,
  Relayer: relayer,
  Signature: signature,
  JsonRpcAnswer: jsonRpcAnswer,
  RelayedSeed: relayedSeed,
  RelayerBalance: relayerBalance,
  SignerPublicKeys: signerPublicKeys,
  SignerKey: signerKey,
  SignerKeys: signerKeys,
  SignerEventPage: signerEvents,
  StoredSponsorPolicy: storedSponsorPolicy,
  SponsorDecision: sponsorDecision,
  SponsorDecisions: sponsorDecisions,
  PaymasterSignerRotation: paymasterSignerRotation,
  PaymasterSigner: paymasterSigner,
} as const;

export type ResponseName = keyof typeof responseSchemas;

/** JSON Schemas of every answer, cross-referenced as #/components/schemas/<name>. */
export function responseJsonSchemas(): Record<ResponseName, object> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(responseSchemas)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'output', unrepresentable: 'any' });
  // Inside an OpenAPI document a component is not a JSON Schema document of its own: no $schema, no $id.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _schema, $id: _id, ...schema }]) => [id, schema])) as Record<ResponseName, object>;
}
