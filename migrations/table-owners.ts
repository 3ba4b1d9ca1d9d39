// One owning room per table (issue #18 §2): only the owner names a table in its SQL; every other
// room reads through the owner's door (watched addresses from users/ and wallets/, indexer status
// from indexers/, balances and assets through ledger/). The map is typed by infra/schema.ts, so a
// migration that adds a table does not typecheck until someone names its owner.
// `tableMentions` finds where a source file names tables: in SQL text (`FROM t`, `JOIN t`,
// `INTO t`, `UPDATE t`) and in kysely calls (`selectFrom('t')`, `insertInto('t')`, …). It reads
// string and template literals only, so prose in comments never counts.
import ts from 'typescript';
import type { Database } from '../infra/index.ts';

export type TableName = keyof Database;

export const tableOwners: Record<TableName, string> = {
  // The journal, its projections and everything the writer keeps in step with it.
  account_volumes: 'ledger',
  accounts: 'ledger',
  assets: 'ledger',
  balances: 'ledger',
  choco_balances: 'ledger',
  deposits: 'ledger',
  floor_rules: 'ledger',
  journal_entries: 'ledger',
  ledger_seals: 'ledger',
  postings: 'ledger',
  projection_checkpoints: 'ledger',
  rejections: 'ledger',
  spend_window_entries: 'ledger',
  api_keys: 'access',
  web_sessions: 'web',
  credit_decisions: 'credits',
  price_observations: 'credits',
  users: 'users',
  deposit_addresses: 'users',
  indexer_cursors: 'indexers',
  indexer_hot_blocks: 'indexers',
  indexer_open_deposits: 'indexers',
  evm_contract_events: 'indexers',
  forward_requests: 'relayer',
  refill_targets: 'relayer',
  refills: 'relayer',
  relayer_tokens: 'relayer',
  relayer_transactions: 'relayer',
  relayers: 'relayer',
  relayer_keys: 'relayer',
  treasury_keys: 'relayer',
  key_rotations: 'rotations',
  remote_signer_keys: 'remote-signer',
  remote_signer_clients: 'remote-signer',
  remote_signer_client_keys: 'remote-signer',
  remote_signer_events: 'remote-signer',
  sponsor_decisions: 'sponsor',
  sponsor_policies: 'sponsor',
  paymaster_signer_rotations: 'sponsor',
  // Gas top-ups the sweeps ask for before they can move a token; they are the only users.
  refill_requests: 'sweeps',
  near_storage_deposits: 'sweeps',
  sweeps: 'sweeps',
  spends: 'wallets',
  wallet_events: 'wallets',
  wallet_policies: 'wallets',
  wallets: 'wallets',
  outbox: 'infra',
  alerts_active: 'infra',
  schema_migrations: 'migrations',
};

export interface TableMention {
  table: TableName;
  line: number;
}

const sqlKeyword = /\b(?:from|join|into|update)\s+([a-z_][a-z0-9_]*)/gi;
const kyselyTableMethods = new Set(['selectFrom', 'insertInto', 'updateTable', 'deleteFrom', 'mergeInto', 'replaceInto', 'innerJoin', 'leftJoin', 'rightJoin', 'fullJoin', 'with']);

const isTable = (name: string): name is TableName => Object.hasOwn(tableOwners, name);

/** Every table the file's SQL or kysely calls name, once per place. */
export function tableMentions(fileName: string, text: string): TableMention[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const mentions: TableMention[] = [];
  const add = (name: string, node: ts.Node) => {
    if (isTable(name)) mentions.push({ table: name, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      for (const match of node.text.matchAll(sqlKeyword)) add(match[1]!.toLowerCase(), node);
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && kyselyTableMethods.has(node.expression.name.text)) {
      const first = node.arguments[0];
      const names = first && ts.isArrayLiteralExpression(first) ? first.elements : first ? [first] : [];
      for (const name of names) {
        // 'deposits as d' names the table deposits.
        if (ts.isStringLiteralLike(name)) add(name.text.split(/\s+/)[0]!, name);
      }
      // The string literal itself is visited below too, but "deposits as d" holds no SQL keyword.
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return mentions;
}

/** The room a repository path belongs to: its top-level folder. */
export const roomOf = (path: string): string => path.split('/')[0]!;

export interface CrossRoomMention extends TableMention {
  file: string;
  owner: string;
}

/** The mentions in `file` of tables another room owns. */
export function crossRoomMentions(file: string, text: string): CrossRoomMention[] {
  const room = roomOf(file);
  return tableMentions(file, text)
    .filter((mention) => tableOwners[mention.table] !== room)
    .map((mention) => ({ ...mention, file, owner: tableOwners[mention.table] }));
}
