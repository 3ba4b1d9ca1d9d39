// The OpenAPI document, built from the same zod schemas the routes validate requests with and
// type their answers by (responses.ts).
import { z } from 'zod';
import { balancesQuery, asOfQuery, consistencyQuery, entriesQuery, manualEntryBody, statementQuery } from './routes/ledger.ts';
import { minSequenceHeader } from './replica.ts';
import { createUserBody, depositsQuery, nearKeyBody, updateUserBody } from './routes/users.ts';
import { createWalletBody, spendBody, spendsQuery } from './routes/wallets.ts';
import { depositChains } from '../users/index.ts';
import { policySchema } from '../wallets/index.ts';
import { forwardRequestSchema } from '../relayer/index.ts';
import { rotationsQuery } from './routes/admin.ts';
import { rotateKeyBody } from './rotation.ts';
import { pathParameter } from './params.ts';
import { responseJsonSchemas, type ResponseName } from './responses.ts';
import { signerEventsQuery } from './routes/remote-signer.ts';
import { signerPolicySchema } from '../remote-signer/index.ts';
import { sponsorPolicySchema } from '../sponsor/index.ts';
import { decisionsQuery } from './routes/paymaster.ts';

/** A JSON answer whose shape is the named schema of responses.ts. */
const answer = (description: string, name: ResponseName) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } });

const problem = { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };

function queryParameters(schema: z.ZodObject) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: property }));
}

const pathId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

const relayerAuth = [{ defenderToken: [] }];
const relayerOp = (summary: string, response: ResponseName, extra: object = {}) => ({
  summary,
  security: relayerAuth,
  responses: { '200': answer('OK', response), '400': problem, '401': problem, '404': problem },
  ...extra,
});
/** Defender v2 relay-signer API (root paths, as its client expects) and seed 002's relay service. */
const defenderPaths = {
  '/auth/login': { post: { summary: 'Defender login: {apiKey, secretKey, type} → {accessToken, refreshToken}', responses: { '200': answer('tokens', 'Tokens'), '403': problem } } },
  '/auth/refresh-token': { post: { summary: 'Defender token refresh: {apiKey, secretKey, refreshToken} → a new access token', responses: { '200': answer('tokens', 'Tokens'), '403': problem } } },
  '/relayers/self': { get: relayerOp('The relayer (RelayerGetResponse)', 'Relayer') },
  '/relayers/self/status': { get: relayerOp('Nonce, pending transactions and their cost', 'RelayerStatus') },
  '/relayers/self/txs': {
    post: relayerOp('Send: validated, priced (speed or explicit fees, capped), balance-reserved, given the next nonce, signed and stored, then broadcast. A repeated body (the client retries) or Idempotency-Key returns the first transaction.', 'DefenderTransaction'),
    get: relayerOp('List by status (pending, mined, failed, expired), since, limit, sort; {items, next} with usePagination=true', 'DefenderTransactions'),
  },
  '/relayers/self/txs/{id}': {
    get: relayerOp('One transaction by id, or by nonce with ?nonce=true', 'DefenderTransaction', { parameters: [pathId] }),
    put: relayerOp('Replace by id or by nonce (a numeric path): same nonce, ≥ 10 % higher fees', 'DefenderTransaction', { parameters: [pathId] }),
    delete: relayerOp('Cancel: a NOOP takes the nonce', 'DefenderCancel', { parameters: [pathId] }),
  },
  '/relayers/self/sign': { post: relayerOp('EIP-191 signature over the bytes of a hex message: {sig, r, s, v}', 'Signature') },
  '/relayers/self/sign-typed-data': { post: relayerOp('EIP-712 signature from {domainSeparator, hashStructMessage}', 'Signature') },
  '/relayers/self/jsonrpc': { post: relayerOp('Read-only JSON-RPC to the node (eth_chainId, eth_call, …); a refused call is a JSON-RPC error in a 200', 'JsonRpcAnswer') },
  '/relay': {
    post: {
      ...relayerOp('Seed 002: send {to, data, value?, gasLimit, speed} with X-Api-Key and X-Api-Secret → {transactionId, hash, status}', 'RelayedSeed'),
      responses: { '201': answer('sent', 'RelayedSeed'), '400': problem, '401': problem, '404': problem },
    },
  },
  '/relay/{id}': { get: relayerOp('Seed 002: {transactionId, hash, status}', 'RelayedSeed', { parameters: [pathId] }) },
  '/relayer': { get: relayerOp('Seed 002: {address, balance}', 'RelayerBalance') },
};

const signerClientAuth = [{ signerClient: [] }];
const signerKeyName = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,47}$' } };

/** The remote signer: the OP Stack signer client's and Web3Signer's eth1 protocols, at the root. */
const remoteSignerPaths = {
  '/signer': {
    post: {
      summary:
        'JSON-RPC (a call or a batch of up to 20): health_status → "OK"; eth_accounts; eth_signTransaction [TransactionArgs] → bare 0x hex of the signed EIP-2718 transaction; eth_sign [address, data]; eth_signTypedData_v4 [address, typedData] → 65-byte r‖s‖v. A refusal is a JSON-RPC error (-32001 refused by policy, -32000 unknown key, -32602 invalid params, -32003 key unavailable) with data.reason',
      security: signerClientAuth,
      responses: { '200': answer('a JSON-RPC answer (or an array of them for a batch)', 'JsonRpcAnswer'), '401': answer('no or unknown client token', 'JsonRpcAnswer'), '503': answer('no remote signer in this coffer', 'JsonRpcAnswer') },
    },
  },
  '/upcheck': { get: { summary: 'Web3Signer liveness: OK', responses: { '200': { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  '/api/v1/eth1/publicKeys': { get: { summary: "Web3Signer: the public keys this client may sign with (uncompressed, no 04 prefix)", security: signerClientAuth, responses: { '200': answer('OK', 'SignerPublicKeys'), '401': problem } } },
  '/api/v1/eth1/sign/{identifier}': {
    post: {
      summary: 'Web3Signer: {data} → 65-byte r‖s‖v over keccak256(data) as text; bytes that decode as a transaction are judged as that transaction',
      security: signerClientAuth,
      parameters: [{ name: 'identifier', in: 'path', required: true, schema: { type: 'string', description: 'the public key (or the address)' } }],
      responses: { '200': { description: 'the signature', content: { 'text/plain': { schema: { type: 'string' } } } }, '400': problem, '401': problem, '403': problem, '404': problem, '503': problem },
    },
  },
};

/** The ERC-7677 paymaster service and its policy (issue #24). */
const paymasterRequest = {
  type: 'object',
  description: 'JSON-RPC 2.0: pm_getPaymasterStubData or pm_getPaymasterData with params [userOperation, entryPoint, chainId (hex), context]',
  properties: {
    jsonrpc: { const: '2.0' },
    id: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'null' }] },
    method: { type: 'string', enum: ['pm_getPaymasterStubData', 'pm_getPaymasterData'] },
    params: { type: 'array', minItems: 3, maxItems: 4, items: {} },
  },
  required: ['jsonrpc', 'method', 'params'],
};
const paymasterPaths = {
  '/v1/paymaster': {
    post: {
      summary:
        'ERC-7677 paymaster service (a key with role sponsor or operator, as a bearer token or ?apikey=): pm_getPaymasterStubData → {paymaster, paymasterData (no valid signature), gas limits, sponsor, isFinal:false}; pm_getPaymasterData → paymasterData = validUntil ‖ validAfter ‖ the sponsor key\'s signature. Both check the policy and are recorded; a refusal is JSON-RPC error -32001 with data.reason and no signature; invalid params -32602',
      security: [{ bearer: [] }, { apiKeyQuery: [] }],
      parameters: [{ name: 'apikey', in: 'query', required: false, schema: { type: 'string', description: 'the API key, for wallets that cannot set headers' } }],
      requestBody: { required: true, content: { 'application/json': { schema: paymasterRequest } } },
      responses: {
        '200': answer('a JSON-RPC answer: the paymaster fields, or an error with data.reason', 'JsonRpcAnswer'),
        '401': answer('no or unknown key (a JSON-RPC error)', 'JsonRpcAnswer'),
        '403': answer('a key of another role (a JSON-RPC error)', 'JsonRpcAnswer'),
        '503': answer('no paymaster service in this coffer (a JSON-RPC error)', 'JsonRpcAnswer'),
      },
    },
  },
};

export function openApiDocument() {
  const read = (summary: string, response: ResponseName, query?: z.ZodObject, extra: object = {}) => ({
    summary,
    security: [{ bearer: [] }],
    parameters: query ? queryParameters(query) : [],
    responses: { '200': answer('OK', response), '400': problem, '401': problem, '403': problem },
    ...extra,
  });
  /** A ledger read: it may come from the read replica, which waits for minSequence / X-Min-Sequence or answers 503 replica_behind. */
  const ledgerRead = (summary: string, response: ResponseName, query: z.ZodObject, extra: { parameters?: object[]; responses?: object } = {}) => {
    const base = read(`${summary}. Served by the read replica when there is one: minSequence (or the ${minSequenceHeader} header) names a journal sequence the answer must include — it waits up to 2 s, then answers 503 replica_behind`, response, query, extra);
    return {
      ...base,
      parameters: [...base.parameters, { name: minSequenceHeader, in: 'header', required: false, schema: { type: 'string', pattern: '^[0-9]{1,19}$' } }],
      responses: { ...base.responses, '503': problem },
    };
  };
  return {
    openapi: '3.1.0',
    info: { title: 'coffer', version: '0.1.0', description: 'Event-sourced multi-chain custody ledger. Amounts are decimal strings in minor units.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'coffer_<id>_<secret> from `coffer keys create`' },
        defenderToken: { type: 'http', scheme: 'bearer', description: 'an access token from /auth/login, with X-Api-Key (relayer key from `coffer relayers create`)' },
        signerClient: { type: 'http', scheme: 'bearer', description: 'csk_<id>_<secret> from `coffer signer clients create` (or in the header named by SIGNER_AUTH_HEADER)' },
        apiKeyQuery: { type: 'apiKey', in: 'query', name: 'apikey', description: 'the API key in the URL, as hosted paymasters take it (POST /v1/paymaster only)' },
      },
      schemas: {
        Problem: {
          type: 'object',
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, detail: { type: 'string' } },
          required: ['status', 'code', 'detail'],
        },
        ManualEntry: z.toJSONSchema(manualEntryBody, { unrepresentable: 'any' }),
        NewUser: z.toJSONSchema(createUserBody, { unrepresentable: 'any' }),
        NewWallet: z.toJSONSchema(createWalletBody, { unrepresentable: 'any' }),
        Policy: z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }),
        SignerPolicy: z.toJSONSchema(signerPolicySchema, { io: 'input', unrepresentable: 'any' }),
        SponsorPolicyDocument: z.toJSONSchema(sponsorPolicySchema, { io: 'input', unrepresentable: 'any' }),
        SpendRequest: z.toJSONSchema(spendBody, { unrepresentable: 'any' }),
        ...responseJsonSchemas(),
      },
    },
    paths: {
      '/health': { get: { summary: 'Liveness', responses: { '200': answer('alive', 'Health') } } },
      '/ready': { get: { summary: 'Readiness: PostgreSQL and Redis answer', responses: { '200': answer('ready', 'Ready'), '503': problem } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/v1/ledger/assets': { get: ledgerRead('Registered assets and their scales', 'Assets', consistencyQuery) },
      '/v1/ledger/entries': {
        get: ledgerRead('Journal entries by account (or selector like users:42:*), asset, kind and time; cursor pagination. Accept text/csv or application/x-ndjson to export.', 'JournalEntryPage', entriesQuery, {
          responses: {
            '200': {
              description: 'a page; with Accept text/csv or application/x-ndjson, the whole filtered journal as a file',
              content: {
                ...answer('', 'JournalEntryPage').content,
                'text/csv': { schema: { type: 'string', description: 'one row per posting' } },
                'application/x-ndjson': { schema: { type: 'string', description: 'one JournalEntry per line' } },
              },
            },
            '400': problem,
            '401': problem,
            '403': problem,
          },
        }),
        post: {
          summary: 'Post a manual adjusting entry (operator). Idempotent by Idempotency-Key.',
          security: [{ bearer: [] }],
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', maxLength: 200 } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ManualEntry' } } } },
          responses: { '201': answer('created', 'JournalEntry'), '200': answer('idempotent replay: the original entry', 'JournalEntry'), '400': problem, '409': problem, '422': problem },
        },
      },
      '/v1/ledger/entries/{id}': { get: ledgerRead('One journal entry', 'JournalEntry', consistencyQuery, { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, ...queryParameters(consistencyQuery)] }) },
      '/v1/ledger/accounts/{account}/statement': {
        get: ledgerRead('Account statement with running balance', 'Statement', statementQuery, {
          parameters: [{ name: 'account', in: 'path', required: true, schema: { type: 'string' } }, ...queryParameters(statementQuery)],
        }),
      },
      '/v1/ledger/balances': { get: ledgerRead('Balances by account selector, now or as of a time (effective) or journal sequence', 'Balances', balancesQuery) },
      '/v1/ledger/trial-balance': { get: ledgerRead('Trial balance per asset, now or as of a time or sequence', 'TrialBalance', asOfQuery) },
      '/v1/ledger/verify': { get: read('Re-check every ledger invariant (hash chain, balance, floors, projections), always on the primary (its projection checks need temporary tables)', 'VerifyReport') },
      '/v1/users': {
        post: {
          summary: 'Create a user from a NEAR account (operator)',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewUser' } } } },
          responses: { '201': answer('created', 'User'), '400': problem, '409': problem, '422': problem },
        },
      },
      '/v1/users/{id}': {
        get: read('One user (operator, or the user\'s own key)', 'User', undefined, { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }),
        patch: {
          summary: 'Turn sweeps of the user\'s deposits on or off (operator)',
          security: [{ bearer: [] }],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(updateUserBody, { io: 'input' }) } } },
          responses: { '200': answer('updated', 'User'), '400': problem, '403': problem, '404': problem, '422': problem },
        },
      },
      '/v1/users/{id}/near-key': {
        put: {
          summary: 'Import the user\'s NEAR private key (operator): checked on chain to be a full-access key of the user\'s account, sealed in the keystore, never stored in the database or answered',
          security: [{ bearer: [] }],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(nearKeyBody, { io: 'input' }) } } },
          responses: { '200': answer('imported (or already there)', 'NearKey'), '400': problem, '403': problem, '404': problem, '409': problem, '422': problem, '502': problem, '503': problem },
        },
      },
      '/v1/users/{id}/deposit-addresses/{chain}': {
        get: read('The user\'s deposit address on ethereum, bitcoin, solana or near: derived once, stable forever, with a payment URI', 'DepositAddress', undefined, {
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'chain', in: 'path', required: true, schema: { type: 'string', enum: [...depositChains] } },
          ],
        }),
      },
      '/v1/users/{id}/deposits': {
        get: read('The user\'s deposits, newest first: chain, tx, amount, asset, confirmations, status pending/confirmed/reverted', 'DepositPage', depositsQuery, {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, ...queryParameters(depositsQuery)],
        }),
      },
      '/v1/users/{id}/deposits/{entryId}': {
        get: read('One deposit\'s history (the user, operators, auditors): deposit → confirmed → credited or not (with the rate or price, or the reason) → sweep, with amounts and transaction hashes', 'DepositHistory', undefined, {
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'entryId', in: 'path', required: true, schema: { type: 'string' } },
          ],
        }),
      },
      '/v1/users/{id}/balances': {
        get: read('The user\'s pending (below the finality depth) and confirmed (in custody) balances per chain and asset, and their CHOCO', 'UserBalances', undefined, {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        }),
      },
      '/v1/wallets': {
        post: {
          summary: 'Create an agent wallet (operator): an EVM address derived for it, an owner, an optional webhook URL; answers its webhook secret once',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewWallet' } } } },
          responses: { '201': answer('created', 'CreatedWallet'), '400': problem, '409': problem, '422': problem, '503': problem },
        },
      },
      '/v1/wallets/{id}': { get: read('A wallet: address, balances (available, held, pending), remaining budget per window, frozen, locked down', 'Wallet', undefined, { parameters: [pathId] }) },
      '/v1/wallets/{id}/policy': {
        get: read('The current policy and its version', 'StoredPolicy', undefined, { parameters: [pathId] }),
        put: {
          summary: 'Replace the policy (owner or operator): a new version, audited. Rules: per_tx_cap, window_limit (rolling or calendar in an IANA zone), recipients, contracts, selectors, tokens, hours, cooldown, velocity; each with severity approve | reject | freeze | lockdown',
          security: [{ bearer: [] }],
          parameters: [pathId],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Policy' } } } },
          responses: { '200': answer('stored', 'StoredPolicy'), '400': problem, '403': problem, '404': problem, '422': problem },
        },
      },
      '/v1/wallets/{id}/spends': {
        get: read('The wallet\'s spends, newest first', 'SpendPage', spendsQuery, { parameters: [pathId, ...queryParameters(spendsQuery)] }),
        post: {
          summary: 'Ask to spend (the wallet\'s agent key). 202 with the spend; a policy job decides: allowed (budget and funds held), rejected with a code, or awaiting_approval',
          security: [{ bearer: [] }],
          parameters: [pathId, { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', maxLength: 200 } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SpendRequest' } } } },
          responses: { '202': answer('accepted for a decision', 'Spend'), '200': answer('idempotent replay: the original spend', 'Spend'), '400': problem, '404': problem, '409': problem, '422': problem },
        },
      },
      '/v1/wallets/{id}/freeze': { post: { summary: 'Freeze the wallet (owner or operator)', security: [{ bearer: [] }], parameters: [pathId], responses: { '200': answer('frozen', 'Wallet'), '403': problem, '404': problem } } },
      '/v1/wallets/{id}/unfreeze': { post: { summary: 'Unfreeze (owner; a locked-down wallet: operator)', security: [{ bearer: [] }], parameters: [pathId], responses: { '200': answer('unfrozen', 'Wallet'), '403': problem, '404': problem } } },
      '/v1/wallets/{id}/webhook': { put: { summary: 'Set or clear the webhook URL (owner or operator); answers the signing secret, and while a rotated webhook root overlaps its successor the previous one too (webhooks carry a v1 signature for each)', security: [{ bearer: [] }], parameters: [pathId], responses: { '200': answer('stored', 'Webhook'), '400': problem, '403': problem } } },
      '/v1/wallets/{id}/keys/{keyId}/rotate': {
        post: {
          summary: 'Rotate an agent key of the wallet (the agent its own key; the owner or an operator any of the wallet\'s): the new key shown once, the old one valid for the overlap. Audited.',
          security: [{ bearer: [] }],
          parameters: [pathId, { name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: false, content: { 'application/json': { schema: z.toJSONSchema(rotateKeyBody, { io: 'input' }) } } },
          responses: { '201': answer('the new key', 'RotatedKey'), '400': problem, '403': problem, '404': problem, '409': problem },
        },
      },
      '/v1/wallets/{id}/events': { get: read('The wallet\'s audit log: policy versions, freezes, lockdowns, every spend status', 'WalletEventPage', undefined, { parameters: [pathId] }) },
      '/v1/spends/{id}': { get: read('One spend: status, code, every violated rule, transaction, fee, ledger entries', 'Spend', undefined, { parameters: [pathId] }) },
      '/v1/spends/{id}/approve': { post: { summary: 'Approve a spend awaiting approval (owner or operator); the other rules are checked again', security: [{ bearer: [] }], parameters: [pathId], responses: { '200': answer('decided', 'Spend'), '403': problem, '404': problem, '409': problem } } },
      '/v1/spends/{id}/reject': { post: { summary: 'Reject a spend awaiting approval (owner or operator)', security: [{ bearer: [] }], parameters: [pathId], responses: { '200': answer('rejected', 'Spend'), '403': problem, '404': problem, '409': problem } } },
      '/v1/admin/indexers': { get: read('Indexers: processed and finalized block, chain head, lag, deposits awaiting confirmation, stop reason (operator, auditor)', 'Indexers') },
      '/v1/admin/keys/{id}/rotate': {
        post: {
          summary: 'Rotate an API key (any role, agent keys included; operator): a new key with the same role and scope, shown once; the old one valid for the overlap (default 24h), then refused. Audited.',
          security: [{ bearer: [] }],
          parameters: [pathId],
          requestBody: { required: false, content: { 'application/json': { schema: z.toJSONSchema(rotateKeyBody, { io: 'input' }) } } },
          responses: { '201': answer('the new key', 'RotatedKey'), '400': problem, '403': problem, '404': problem, '409': problem },
        },
      },
      '/v1/admin/rotations': { get: read('Key rotations, newest first: API and agent keys, the keystore passphrase, the webhook root, relayer and treasury keys, with each step (rotated, drained, retired) (operator, auditor)', 'RotationPage', rotationsQuery) },
      '/v1/admin/relayers/{id}/rotate-key': {
        post: {
          summary: "Rotate a relayer's signing key (operator): a new keystore key, funded by the refill job; once booked the next send takes it, the old key's pending transactions finish, the rest of its balance moves to the new key (booked), then it is retired. The relayer's id and Defender credentials stay. Audited (relayer_key).",
          security: [{ bearer: [] }],
          parameters: [pathParameter('id', 'relayer')],
          responses: { '202': answer('rotation started; the relay monitor completes it', 'RelayerKeyRotation'), '400': problem, '403': problem, '404': problem, '409': problem, '503': problem },
        },
      },
      '/v1/admin/treasury/rotate': {
        post: {
          summary: "Rotate the treasury hot key (operator): a new keystore key pays refills at once; the old key's refills in flight settle, the rest of its balance moves to the new key (booked treasury.drained), then it is retired. A rotation under way is completed instead of a new one started. Audited (treasury_hot_key).",
          security: [{ bearer: [] }],
          responses: { '200': answer('done: the old key is retired', 'TreasuryRotation'), '202': answer('switched; the refill job completes the drain', 'TreasuryRotation'), '403': problem, '409': problem, '503': problem },
        },
      },
      '/v1/admin/refills': { get: read('Refill targets (relayer and bundler EOAs, paymaster deposits): balance now, fund_below → fund_to, daily cap, refilled today; the treasury hot wallet; refill history (operator, auditor)', 'Refills') },
      '/v1/forwarder/requests': {
        post: {
          summary: 'Relay an EIP-712 signed ERC2771Forwarder ForwardRequest (user or operator): checked (signature, deadline, nonce, target allowlist, gas, verify) and sent through execute; a signer’s requests go out in nonce order',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(forwardRequestSchema, { io: 'input', unrepresentable: 'any' }) } } },
          responses: { '202': answer('queued or relayed', 'ForwardRequest'), '200': answer('the same signed request again', 'ForwardRequest'), '400': problem, '403': problem, '409': problem, '503': problem },
        },
      },
      '/v1/forwarder/requests/{id}': { get: read('A forward request: queued, relayed, executed (its ExecutedForwardRequest seen), failed or expired, with the relay transaction', 'ForwardRequest', undefined, { parameters: [pathId] }) },
      '/v1/signer/keys': { get: read('Remote signer keys: address, public key, source (keystore or MPC), policy and its version (operator, auditor)', 'SignerKeys') },
      '/v1/signer/keys/{name}': { get: read('One remote signer key', 'SignerKey', undefined, { parameters: [signerKeyName] }) },
      '/v1/signer/keys/{name}/policy': {
        put: {
          summary: "Replace a signer key's policy (operator): the wallet policies' grammar with chain_ids, fee_cap and messages; every rule rejects. Audited as policy_set",
          security: [{ bearer: [] }],
          parameters: [signerKeyName],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SignerPolicy' } } } },
          responses: { '200': answer('stored', 'SignerKey'), '400': problem, '403': problem, '404': problem },
        },
      },
      '/v1/signer/events': { get: read('The remote signer audit trail, newest first: every signature (client, key, digest, decoded request), refusal (reason code, violations) and policy version', 'SignerEventPage', signerEventsQuery) },
      '/v1/paymaster/policy': {
        get: read('The sponsorship policy in force and its version (operator, auditor); 404 no_policy when none is set, and then nothing is sponsored', 'StoredSponsorPolicy', undefined, { responses: { '200': answer('OK', 'StoredSponsorPolicy'), '401': problem, '403': problem, '404': problem } }),
        put: {
          summary: 'Set the sponsorship policy (operator): a new version, in force at once; the same document as `coffer paymaster policy set --file`',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SponsorPolicyDocument' } } } },
          responses: { '200': answer('stored', 'StoredSponsorPolicy'), '400': problem, '401': problem, '403': problem, '422': problem },
        },
      },
      '/v1/paymaster/signer': {
        get: read('The verifying paymaster\'s signing key: the keystore key the service signs with, and every rotation with its status (operator, auditor)', 'PaymasterSigner', undefined, { responses: { '200': answer('OK', 'PaymasterSigner'), '401': problem, '403': problem, '503': problem } }),
      },
      '/v1/paymaster/signer/rotate': {
        post: {
          summary:
            'Rotate the paymaster\'s signing key (operator): a new keystore key, setSigner(new, true) mined, and the service signs with it from the answer on; the old key leaves the signer set (setSigner(old, false)) after the overlap (default 24h) and once every operation it signed has expired. A stopped rotation is resumed instead; a rotation under way is waited for. Audited (kind paymaster_signer)',
          security: [{ bearer: [] }],
          requestBody: { required: false, content: { 'application/json': { schema: z.toJSONSchema(rotateKeyBody, { io: 'input' }) } } },
          responses: { '201': answer('activated', 'PaymasterSignerRotation'), '400': problem, '401': problem, '403': problem, '404': problem, '409': problem, '503': problem },
        },
      },
      '/v1/paymaster/decisions': { get: read('Sponsorship decisions, newest first (at most 200): stubs, signatures (with validUntil, and actualGasCost once included) and refusals with their reason (operator, auditor)', 'SponsorDecisions', decisionsQuery) },
      ...paymasterPaths,
      ...defenderPaths,
      ...remoteSignerPaths,
    },
  };
}

type DocumentedOperation = {
  summary: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};

export function docsPage(document: ReturnType<typeof openApiDocument>): string {
  const escape = (text: string) => text.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch] ?? ch);
  const rows = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations as Record<string, DocumentedOperation>).map(([method, operation]) => {
      // The answer's shape by its schema's name, as /openapi.json's components call it.
      const answers = Object.entries(operation.responses)
        .filter(([status]) => status.startsWith('2'))
        .map(([status, response]) => `${status} → ${escape(response.content?.['application/json']?.schema.$ref?.split('/').at(-1) ?? Object.keys(response.content ?? {}).join(', '))}`);
      return `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escape(path)}</code></td><td>${escape(operation.summary)}${
        operation.parameters?.length ? `<br><small>${operation.parameters.map((p) => `${escape(p.name)} (${p.in})`).join(', ')}</small>` : ''
      }<br><small>${answers.join('; ')}</small></td></tr>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>coffer API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem}td{padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}code{font-size:.9em}</style>
</head><body><h1>coffer API</h1><p>${escape(document.info.description)} Machine-readable: <a href="/openapi.json">/openapi.json</a>.
Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p>
<table>${rows.join('\n')}</table></body></html>`;
}
