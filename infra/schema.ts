// Generated from the migrated schema by migrations/schema-types.ts; do not edit. After a
// migration, regenerate with UPDATE_SCHEMA_TYPES=1 on migrations/schema-types.test.ts.
import type { ColumnType, Generated } from 'kysely';

/** A jsonb value as node-postgres parses it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface AccountVolumesTable {
  account_id: bigint;
  asset_id: number;
  input: ColumnType<string, string | bigint | undefined, string | bigint>;
  output: ColumnType<string, string | bigint | undefined, string | bigint>;
  postings_count: Generated<bigint>;
  last_entry_id: bigint | null;
}

export interface AccountsTable {
  id: Generated<bigint>;
  path: string;
  created_at: Generated<Date>;
}

export interface AlertsActiveTable {
  key: string;
  type: string;
  detail: Json;
  fired_at: Generated<Date>;
}

export interface ApiKeysTable {
  id: string;
  role: string;
  name: string | null;
  secret_hash: Buffer;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  user_id: string | null;
  wallet_id: string | null;
  expires_at: Date | null;
  rotated_to: string | null;
}

export interface AssetsTable {
  id: Generated<number>;
  code: string;
  scale: number;
  chain: string | null;
  contract: string | null;
  created_at: Generated<Date>;
}

export interface BalancesTable {
  account_id: bigint;
  asset_id: number;
  balance: ColumnType<string, string | bigint | undefined, string | bigint>;
  floor: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  postings_count: Generated<bigint>;
  last_entry_id: bigint | null;
}

export interface ChocoBalancesTable {
  user_id: string;
  credited: ColumnType<string, string | bigint | undefined, string | bigint>;
  debited: ColumnType<string, string | bigint | undefined, string | bigint>;
  balance: ColumnType<string | null, string | bigint | null | undefined, string | bigint | null>;
  last_entry_id: bigint;
}

export interface CreditDecisionsTable {
  confirmation_entry_id: bigint;
  deposit_entry_id: bigint;
  user_id: string;
  chain: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  status: string;
  reason: string | null;
  price_observation_id: bigint | null;
  usd_micros: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  choco: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  credit_entry_id: bigint | null;
  reversal_entry_id: bigint | null;
  shortfall: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  decided_at: Generated<Date>;
}

export interface DepositAddressesTable {
  id: Generated<bigint>;
  user_id: string;
  chain: string;
  network: string;
  predecessor: string;
  path: string;
  public_key: string | null;
  address: string;
  created_at: Generated<Date>;
}

export interface DepositsTable {
  entry_id: bigint;
  chain: string;
  user_id: string | null;
  address: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  tx_hash: string;
  log_index: number | null;
  block_height: bigint;
  block_hash: string;
  effective_at: Date;
  confirmed_entry_id: bigint | null;
  confirmation_reversed: Generated<boolean>;
  reversal_entry_id: bigint | null;
  status: Generated<string | null>;
  wallet_id: string | null;
}

export interface EvmContractEventsTable {
  indexer: string;
  block_height: bigint;
  block_hash: string;
  tx_hash: string;
  log_index: number;
  contract: string;
  event: string;
  args: Json;
  block_time: Date;
  orphaned: Generated<boolean>;
}

export interface FloorRulesTable {
  id: Generated<number>;
  pattern: string;
  asset_id: number | null;
  floor: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  created_at: Generated<Date>;
}

export interface ForwardRequestsTable {
  id: string;
  forwarder: string;
  signer: string;
  nonce: ColumnType<string, string | bigint, string | bigint>;
  to_address: string;
  value: ColumnType<string, string | bigint, string | bigint>;
  gas: ColumnType<string, string | bigint, string | bigint>;
  deadline: bigint;
  data: string;
  signature: string;
  status: string;
  status_reason: string | null;
  relayer_id: string | null;
  relay_transaction_id: string | null;
  submitted_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface IndexerCursorsTable {
  indexer: string;
  chain: string;
  height: bigint;
  hash: string;
  processed_height: bigint;
  chain_head: bigint | null;
  chain_head_at: Date | null;
  finality_depth: number;
  stopped_reason: string | null;
  updated_at: Generated<Date>;
}

export interface IndexerHotBlocksTable {
  indexer: string;
  height: bigint;
  hash: string;
}

export interface IndexerOpenDepositsTable {
  entry_id: bigint;
  indexer: string;
  block_height: bigint;
  block_hash: string;
  key_base: string;
  pending_account: string;
  custody_account: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
}

export interface JournalEntriesTable {
  id: bigint;
  kind: string;
  idempotency_key: string;
  request_hash: Buffer;
  effective_at: Date;
  inserted_at: Generated<Date>;
  source_ref: string | null;
  metadata: Generated<Json>;
  reverses: bigint | null;
}

export interface KeyRotationsTable {
  id: Generated<bigint>;
  kind: string;
  subject: string;
  step: string;
  old_ref: string | null;
  new_ref: string | null;
  overlap_until: Date | null;
  actor: string;
  detail: Generated<Json>;
  at: Generated<Date>;
}

export interface LedgerSealsTable {
  id: bigint;
  first_entry_id: bigint;
  last_entry_id: bigint;
  encoding_version: number;
  previous_hash: Buffer;
  hash: Buffer;
  sealed_at: Generated<Date>;
}

export interface NearStorageDepositsTable {
  id: Generated<bigint>;
  account_id: string;
  contract: string;
  deposit: ColumnType<string, string | bigint, string | bigint>;
  status: string;
  status_reason: string | null;
  from_address: string;
  nonce: bigint;
  tx_hash: string;
  raw_tx: string;
  fee: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  entry_id: bigint | null;
  created_at: Generated<Date>;
  settled_at: Date | null;
}

export interface OutboxTable {
  id: Generated<bigint>;
  queue: string;
  name: string;
  dedupe_key: string;
  payload: Json;
  created_at: Generated<Date>;
  dispatched_at: Date | null;
  dispatch_count: Generated<number>;
  completed_at: Date | null;
  run_after: Date | null;
}

export interface PaymasterSignerRotationsTable {
  id: Generated<bigint>;
  paymaster: string;
  old_key_name: string;
  old_address: string;
  new_key_name: string;
  new_address: string;
  status: string;
  overlap_seconds: number;
  actor: string;
  created_at: Generated<Date>;
  activated_at: Date | null;
  retire_after: Date | null;
  retired_at: Date | null;
}

export interface PostingsTable {
  entry_id: bigint;
  posting_index: number;
  asset_id: number;
  source_account_id: bigint;
  destination_account_id: bigint;
  amount: ColumnType<string, string | bigint, string | bigint>;
}

export interface PriceObservationsTable {
  id: Generated<bigint>;
  feed_id: string;
  price: ColumnType<string, string | bigint, string | bigint>;
  conf: ColumnType<string, string | bigint, string | bigint>;
  expo: number;
  publish_time: Date;
  requested_for: Date;
  source: string;
  refused_reason: string | null;
  observed_at: Generated<Date>;
}

export interface ProjectionCheckpointsTable {
  name: string;
  last_entry_id: Generated<bigint>;
  updated_at: Generated<Date>;
}

export interface RefillRequestsTable {
  id: Generated<bigint>;
  chain: string;
  address: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  reason: string;
  sweep_id: bigint | null;
  created_at: Generated<Date>;
  fulfilled_at: Date | null;
}

export interface RefillTargetsTable {
  name: string;
  chain: string;
  kind: string;
  address: string;
  entry_point: string | null;
  account: string;
  fund_below: ColumnType<string, string | bigint, string | bigint>;
  fund_to: ColumnType<string, string | bigint, string | bigint>;
  daily_cap: ColumnType<string, string | bigint, string | bigint>;
  relayer_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface RefillsTable {
  id: Generated<bigint>;
  target: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  balance_before: ColumnType<string, string | bigint, string | bigint>;
  status: string;
  status_reason: string | null;
  from_address: string;
  nonce: bigint | null;
  tx_hash: string;
  raw_tx: string;
  fee: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  entry_id: bigint | null;
  created_at: Generated<Date>;
  settled_at: Date | null;
}

export interface RejectionsTable {
  idempotency_key: string;
  request_hash: Buffer;
  code: string;
  detail: Generated<Json>;
  rejected_at: Generated<Date>;
}

export interface RelayerKeysTable {
  relayer_id: string;
  key_name: string;
  address: string;
  status: string;
  next_nonce: bigint;
  drain_transaction_id: string | null;
  rotated_at: Generated<Date>;
  retired_at: Date | null;
}

export interface RelayerTokensTable {
  token_hash: Buffer;
  relayer_id: string;
  kind: string;
  expires_at: Date;
  created_at: Generated<Date>;
}

export interface RelayerTransactionsTable {
  id: string;
  relayer_id: string;
  nonce: bigint;
  request_hash: Buffer;
  origin: string;
  to_address: string | null;
  value: ColumnType<string, string | bigint, string | bigint>;
  data: string;
  gas_limit: bigint;
  tx_type: string;
  speed: string | null;
  fixed_pricing: boolean;
  max_fee_per_gas: ColumnType<string, string | bigint, string | bigint>;
  max_priority_fee_per_gas: ColumnType<string, string | bigint, string | bigint>;
  valid_until: Date;
  is_private: Generated<boolean>;
  status: string;
  status_reason: string | null;
  noop_reason: string | null;
  hash: string;
  raw_tx: string;
  hashes: string[];
  attempts: Generated<number>;
  created_at: Generated<Date>;
  priced_at: Generated<Date>;
  sent_at: Date | null;
  mined_at: Date | null;
  block_number: bigint | null;
  mined_hash: string | null;
  confirmed_at: Date | null;
  fee: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  settled_entry_id: bigint | null;
  from_address: string;
  seq: Generated<bigint>;
}

export interface RelayersTable {
  id: string;
  name: string;
  chain: string;
  chain_id: bigint;
  address: string;
  key_name: string;
  api_key: string;
  secret_hash: Buffer;
  paused: Generated<boolean>;
  min_balance: ColumnType<string, string | bigint | undefined, string | bigint>;
  gas_price_cap: ColumnType<string, string | bigint, string | bigint>;
  whitelist_receivers: string[] | null;
  next_nonce: Generated<bigint>;
  created_at: Generated<Date>;
  pending_key_name: string | null;
  pending_address: string | null;
}

export interface RemoteSignerClientKeysTable {
  client_id: string;
  key_name: string;
}

export interface RemoteSignerClientsTable {
  id: string;
  name: string | null;
  secret_hash: Buffer;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface RemoteSignerEventsTable {
  id: Generated<bigint>;
  key_name: string;
  kind: string;
  actor: string;
  method: string | null;
  digest: string | null;
  chain_id: bigint | null;
  value: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  code: string | null;
  detail: Generated<Json>;
  at: Date;
}

export interface RemoteSignerKeysTable {
  name: string;
  address: string;
  public_key: string;
  source: string;
  keystore_name: string | null;
  predecessor: string | null;
  path: string | null;
  policy: Json | null;
  policy_version: Generated<number>;
  created_at: Generated<Date>;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface SpendWindowEntriesTable {
  hold_entry_id: bigint;
  wallet_id: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  spent_at: Date;
  released_entry_id: bigint | null;
}

export interface SpendsTable {
  id: string;
  wallet_id: string;
  idempotency_key: string;
  request_hash: string;
  requested_by: string;
  asset: string;
  amount: ColumnType<string, string | bigint, string | bigint>;
  recipient: string;
  tx_to: string;
  tx_value: ColumnType<string, string | bigint, string | bigint>;
  tx_data: string;
  status: string;
  code: string | null;
  violations: Generated<Json>;
  policy_version: number | null;
  approval_deadline: Date | null;
  decided_by: string | null;
  gas_limit: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  max_fee_per_gas: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  max_priority_fee_per_gas: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  gas_reserve: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  hold_entry_id: bigint | null;
  nonce: bigint | null;
  tx_hash: string | null;
  raw_tx: string | null;
  fee: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  settled_entry_id: bigint | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SponsorDecisionsTable {
  id: Generated<bigint>;
  decided_at: Generated<Date>;
  method: string;
  outcome: string;
  reason: string | null;
  message: string | null;
  sender: string;
  nonce: ColumnType<string, string | bigint, string | bigint>;
  policy_version: number | null;
  api_key_id: string | null;
  max_cost: ColumnType<string, string | bigint | undefined, string | bigint>;
  valid_until: Date | null;
  paymaster_hash: string | null;
  actual_gas_cost: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  included_tx_hash: string | null;
  included_at: Date | null;
  signer_address: string | null;
}

export interface SponsorPoliciesTable {
  version: Generated<number>;
  document: Json;
  set_by: string | null;
  created_at: Generated<Date>;
}

export interface SweepsTable {
  id: Generated<bigint>;
  deposit_entry_id: bigint;
  user_id: string;
  chain: string;
  address: string;
  asset: string;
  treasury: string | null;
  amount: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  status: string;
  reason: string | null;
  nonce: bigint | null;
  tx_hash: string | null;
  raw_tx: string | null;
  fee: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  submitted_entry_id: bigint | null;
  settled_entry_id: bigint | null;
  attempts: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface TreasuryKeysTable {
  key_name: string;
  chain: string;
  generation: number;
  address: string;
  account: string;
  status: string;
  drain_nonce: bigint | null;
  drain_amount: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  drain_tx_hash: string | null;
  drain_raw_tx: string | null;
  drain_entry_id: bigint | null;
  created_at: Generated<Date>;
  retired_at: Date | null;
}

export interface UsersTable {
  id: string;
  near_account_id: string;
  is_sweep_enabled: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface WalletEventsTable {
  id: Generated<bigint>;
  wallet_id: string;
  kind: string;
  spend_id: string | null;
  actor: string;
  detail: Generated<Json>;
  at: Generated<Date>;
}

export interface WalletPoliciesTable {
  wallet_id: string;
  version: number;
  policy: Json;
  created_by: string;
  created_at: Generated<Date>;
}

export interface WalletsTable {
  id: string;
  owner_user_id: string;
  chain: string;
  address: string;
  predecessor: string;
  path: string;
  webhook_url: string | null;
  frozen_at: Date | null;
  frozen_reason: string | null;
  locked_down_at: Date | null;
  next_nonce: bigint | null;
  created_at: Generated<Date>;
}

export interface WebSessionsTable {
  id_hash: Buffer;
  api_key_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
}

/** Every table of the migrated schema, as kysely sees it. */
export interface Database {
  account_volumes: AccountVolumesTable;
  accounts: AccountsTable;
  alerts_active: AlertsActiveTable;
  api_keys: ApiKeysTable;
  assets: AssetsTable;
  balances: BalancesTable;
  choco_balances: ChocoBalancesTable;
  credit_decisions: CreditDecisionsTable;
  deposit_addresses: DepositAddressesTable;
  deposits: DepositsTable;
  evm_contract_events: EvmContractEventsTable;
  floor_rules: FloorRulesTable;
  forward_requests: ForwardRequestsTable;
  indexer_cursors: IndexerCursorsTable;
  indexer_hot_blocks: IndexerHotBlocksTable;
  indexer_open_deposits: IndexerOpenDepositsTable;
  journal_entries: JournalEntriesTable;
  key_rotations: KeyRotationsTable;
  ledger_seals: LedgerSealsTable;
  near_storage_deposits: NearStorageDepositsTable;
  outbox: OutboxTable;
  paymaster_signer_rotations: PaymasterSignerRotationsTable;
  postings: PostingsTable;
  price_observations: PriceObservationsTable;
  projection_checkpoints: ProjectionCheckpointsTable;
  refill_requests: RefillRequestsTable;
  refill_targets: RefillTargetsTable;
  refills: RefillsTable;
  rejections: RejectionsTable;
  relayer_keys: RelayerKeysTable;
  relayer_tokens: RelayerTokensTable;
  relayer_transactions: RelayerTransactionsTable;
  relayers: RelayersTable;
  remote_signer_client_keys: RemoteSignerClientKeysTable;
  remote_signer_clients: RemoteSignerClientsTable;
  remote_signer_events: RemoteSignerEventsTable;
  remote_signer_keys: RemoteSignerKeysTable;
  schema_migrations: SchemaMigrationsTable;
  spend_window_entries: SpendWindowEntriesTable;
  spends: SpendsTable;
  sponsor_decisions: SponsorDecisionsTable;
  sponsor_policies: SponsorPoliciesTable;
  sweeps: SweepsTable;
  treasury_keys: TreasuryKeysTable;
  users: UsersTable;
  wallet_events: WalletEventsTable;
  wallet_policies: WalletPoliciesTable;
  wallets: WalletsTable;
  web_sessions: WebSessionsTable;
}
