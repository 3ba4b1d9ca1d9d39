// A signing key's policy, in the wallet policies' grammar (`{"timeZone","rules":[…]}`): the
// wallet rules that make sense for a signature (recipients, contracts, selectors, per_tx_cap,
// window_limit, velocity, hours, cooldown) are the wallets' own schemas and checks, plus three
// rules only a signer needs: `chain_ids` (allow), `fee_cap` (maxFeePerGas, and optionally the
// tip and the blob fee) and `messages` (which kinds of non-transaction signatures are allowed).
//
// A signing client cannot wait for an owner's approval, so every rule rejects. A key without a
// policy signs nothing; a message is signed only when a `messages` rule allows its kind.
import { z } from 'zod';
import { checkRule, isTimeZone, refineRules, ruleCommon, ruleSchemas, rulesMax, type Policy as WalletPolicy, type SpendFacts, type WalletUsage, type WindowQuery, windowQueries } from '../wallets/index.ts';

/** Signatures that are not transactions: EIP-191 personal messages, EIP-712 typed data, keccak256 of raw bytes (Web3Signer's eth1 sign). */
export const messageKinds = ['personal', 'typed_data', 'raw'] as const;
export type MessageKind = (typeof messageKinds)[number];

/**
 * The signer judges a transaction's native value (wei) under this asset code: per_tx_cap and
 * window_limit rules name it, so a rule about a token, which a signer cannot see, is refused
 * when the policy is set rather than silently never applying.
 */
export const nativeValueAsset = 'ETH';

const minorUnits = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a whole number of wei, as a string');
const chainId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const signerRuleSchema = z.discriminatedUnion('type', [
  ruleSchemas.per_tx_cap,
  ruleSchemas.window_limit,
  ruleSchemas.recipients,
  ruleSchemas.contracts,
  ruleSchemas.selectors,
  ruleSchemas.hours,
  ruleSchemas.cooldown,
  ruleSchemas.velocity,
  z.strictObject({ type: z.literal('chain_ids'), allow: z.array(chainId).min(1).max(1_000), ...ruleCommon }),
  z.strictObject({ type: z.literal('fee_cap'), maxFeePerGas: minorUnits, maxPriorityFeePerGas: minorUnits.optional(), maxFeePerBlobGas: minorUnits.optional(), ...ruleCommon }),
  z.strictObject({ type: z.literal('messages'), allow: z.array(z.enum(messageKinds)).min(1).max(messageKinds.length), ...ruleCommon }),
]);

export const signerPolicySchema = z
  .strictObject({
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
    rules: z.array(signerRuleSchema).max(rulesMax),
  })
  .superRefine((policy, ctx) => {
    refineRules(policy.rules, ctx);
    policy.rules.forEach((rule, index) => {
      if (rule.severity !== 'reject') ctx.addIssue({ code: 'custom', path: ['rules', index, 'severity'], message: 'a signing client cannot wait for an approval or a freeze: signer rules reject' });
      if ((rule.type === 'per_tx_cap' || rule.type === 'window_limit') && rule.asset !== nativeValueAsset) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'asset'], message: `the signer caps a transaction's native value in wei, named ${nativeValueAsset}` });
      }
    });
  });

export type SignerPolicyInput = z.input<typeof signerPolicySchema>;
export type SignerRule = z.output<typeof signerPolicySchema>['rules'][number] & { id: string };
export interface SignerPolicy {
  timeZone: string;
  rules: SignerRule[];
}

/** Validates a policy document; throws a ZodError naming the field. */
export function parseSignerPolicy(input: unknown): SignerPolicy {
  const parsed = signerPolicySchema.parse(input);
  return { timeZone: parsed.timeZone, rules: parsed.rules.map((rule, index) => ({ ...rule, id: rule.id ?? `${rule.type}-${index + 1}` })) };
}

/** What is asked to be signed, as the policy sees it. */
export type SigningFacts =
  | {
      kind: 'transaction';
      chainId: bigint;
      /** null: the transaction creates a contract. */
      to: string | null;
      value: bigint;
      input: string;
      /** For a legacy transaction, its gas price. */
      maxFeePerGas: bigint;
      maxPriorityFeePerGas: bigint | null;
      maxFeePerBlobGas: bigint | null;
    }
  | { kind: 'personal' | 'raw' }
  | { kind: 'typed_data'; chainId: bigint | null; verifyingContract: string | null };

export interface SignerViolation {
  /** The rule's id; for a check outside the rules (no policy at all), what was checked. */
  rule: string;
  type: SignerRule['type'] | 'system';
  code: string;
  message: string;
  detail: Record<string, string | number | null>;
}

const newContract = '(a new contract)';

/** Rules that judge what a transaction does; a message has no recipient, value or fee. */
const transactionOnly = new Set<SignerRule['type']>(['per_tx_cap', 'window_limit', 'recipients', 'selectors', 'fee_cap']);

function checkChain(allow: readonly number[], chainId: bigint | null, what: string): Omit<SignerViolation, 'rule' | 'type'> | null {
  if (chainId === null) return { code: 'chain_not_allowed', message: `${what} names no chain id; this key signs only for chains ${allow.join(', ')}`, detail: { chainId: null } };
  return allow.some((id) => BigInt(id) === chainId) ? null : { code: 'chain_not_allowed', message: `chain ${chainId} is not on the key's chain allowlist (${allow.join(', ')})`, detail: { chainId: chainId.toString() } };
}

function checkFees(rule: Extract<SignerRule, { type: 'fee_cap' }>, facts: Extract<SigningFacts, { kind: 'transaction' }>): Omit<SignerViolation, 'rule' | 'type'> | null {
  const caps: [string, bigint | null, string | undefined][] = [
    ['maxFeePerGas', facts.maxFeePerGas, rule.maxFeePerGas],
    ['maxPriorityFeePerGas', facts.maxPriorityFeePerGas, rule.maxPriorityFeePerGas],
    ['maxFeePerBlobGas', facts.maxFeePerBlobGas, rule.maxFeePerBlobGas],
  ];
  for (const [field, asked, cap] of caps) {
    if (cap !== undefined && asked !== null && asked > BigInt(cap)) {
      return { code: 'fee_cap_exceeded', message: `${field} ${asked} is above the cap of ${cap} wei`, detail: { field, asked: asked.toString(), cap } };
    }
  }
  return null;
}

/** The wallets' rule checks, fed what a signature amounts to: a transaction's value and call, or a value-less message. */
function spendFacts(facts: SigningFacts, at: Date): SpendFacts {
  if (facts.kind !== 'transaction') return { asset: nativeValueAsset, amount: 0n, recipient: newContract, txTo: newContract, callData: null, at };
  const to = facts.to ?? newContract;
  return { asset: nativeValueAsset, amount: facts.value, recipient: to, txTo: to, callData: facts.input === '0x' ? null : facts.input, at };
}

function checkOne(rule: SignerRule, policy: SignerPolicy, facts: SigningFacts, usage: WalletUsage, at: Date): Omit<SignerViolation, 'rule' | 'type'> | null {
  if (facts.kind !== 'transaction' && transactionOnly.has(rule.type)) return null;
  switch (rule.type) {
    case 'chain_ids':
      if (facts.kind === 'transaction') return checkChain(rule.allow, facts.chainId, 'the transaction');
      return facts.kind === 'typed_data' ? checkChain(rule.allow, facts.chainId, "the typed data's domain") : null;
    case 'fee_cap':
      return facts.kind === 'transaction' ? checkFees(rule, facts) : null;
    case 'messages':
      return null;
    case 'contracts':
      if (facts.kind === 'typed_data') {
        const contract = facts.verifyingContract;
        return contract !== null && rule.allow.some((a) => a.toLowerCase() === contract.toLowerCase())
          ? null
          : { code: 'contract_not_allowed', message: `typed data for ${contract ?? 'no verifying contract'} is not on the contract allowlist`, detail: { contract } };
      }
      break;
  }
  const walletPolicy: WalletPolicy = { timeZone: policy.timeZone, rules: [] };
  return checkRule(rule, walletPolicy, spendFacts(facts, at), usage);
}

/** Every violated rule (empty: sign). A message needs a `messages` rule that allows its kind. */
export function judgeSigning(policy: SignerPolicy, facts: SigningFacts, usage: WalletUsage, at: Date): SignerViolation[] {
  const violations: SignerViolation[] = [];
  if (facts.kind !== 'transaction') {
    const allowed = policy.rules.some((rule) => rule.type === 'messages' && rule.allow.includes(facts.kind));
    if (!allowed) {
      violations.push({ rule: 'messages', type: 'messages', code: 'message_signing_not_allowed', message: `the key's policy does not allow ${facts.kind} messages (add {"type":"messages","allow":["${facts.kind}"]})`, detail: { kind: facts.kind } });
    }
  }
  for (const rule of policy.rules) {
    const broken = checkOne(rule, policy, facts, usage, at);
    if (broken) violations.push({ rule: rule.id, type: rule.type, ...broken });
  }
  return violations;
}

/** The windows the velocity and window_limit rules need counted at `at`, keyed by rule id. */
export function signerWindowQueries(policy: SignerPolicy, at: Date): WindowQuery[] {
  const counted = policy.rules.filter((rule): rule is Extract<SignerRule, { type: 'velocity' | 'window_limit' }> => rule.type === 'velocity' || rule.type === 'window_limit');
  return windowQueries({ timeZone: policy.timeZone, rules: counted }, at);
}
