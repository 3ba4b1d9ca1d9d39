// The sponsorship policy: which user operations coffer's paymaster pays for. The document
// follows the wallet policies' grammar, `{"rules":[…]}`, and reuses their spend windows:
//   global / per_sender   maxCount and/or maxWei per window (absent window: the policy's life)
//   per_operation         maxWei: the operation's worst-case cost
//   senders / targets / selectors   allow lists (targets and selectors of the account's calls)
//   active                from / to (ISO times)
//   gas                   caps on each gas limit and on the fees
// Rules not listed allow everything. Evaluation is a pure function of the policy, the
// operation and the usage counted in its windows, like wallets/policy.ts, so it is tested
// and benchmarked without a database. Every broken rule is reported; the first decides the code.
import { z } from 'zod';
import { windowSchema, windowStart } from '../wallets/index.ts';
import type { Call, UserOperation } from './user-operation.ts';

export const sponsorRulesMax = 50;
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 20 bytes');
const wei = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a whole number of wei, as a string');
const gasAmount = z.string().regex(/^(0|[1-9][0-9]{0,29})$/, 'must be a whole number, as a string');
const count = z.number().int().min(1).max(1_000_000_000);
const id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, _ . -').optional();

const capFields = { maxCount: count.optional(), maxWei: wei.optional(), window: windowSchema.optional(), id };

const ruleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('global'), ...capFields }),
  z.strictObject({ type: z.literal('per_sender'), ...capFields }),
  z.strictObject({ type: z.literal('per_operation'), maxWei: wei, id }),
  z.strictObject({ type: z.literal('senders'), allow: z.array(address).max(10_000), id }),
  z.strictObject({ type: z.literal('targets'), allow: z.array(address).max(1_000), id }),
  z.strictObject({ type: z.literal('selectors'), allow: z.array(z.string().regex(/^0x[0-9a-fA-F]{8}$/, 'must be a 4-byte selector such as 0xa9059cbb')).max(1_000), id }),
  z.strictObject({ type: z.literal('active'), from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional(), id }),
  z.strictObject({
    type: z.literal('gas'),
    callGasLimit: gasAmount.optional(),
    verificationGasLimit: gasAmount.optional(),
    preVerificationGas: gasAmount.optional(),
    maxFeePerGas: wei.optional(),
    maxPriorityFeePerGas: wei.optional(),
    id,
  }),
]);

export const sponsorPolicySchema = z
  .strictObject({ timeZone: z.string().default('UTC'), rules: z.array(ruleSchema).max(sponsorRulesMax) })
  .superRefine((policy, ctx) => {
    policy.rules.forEach((rule, index) => {
      if ((rule.type === 'global' || rule.type === 'per_sender') && rule.maxCount === undefined && rule.maxWei === undefined) {
        ctx.addIssue({ code: 'custom', path: ['rules', index], message: 'a cap names maxCount, maxWei or both' });
      }
      if (rule.type === 'active' && rule.from && rule.to && Date.parse(rule.from) >= Date.parse(rule.to)) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'to'], message: 'must be after from' });
      }
    });
  });

export type SponsorPolicyInput = z.input<typeof sponsorPolicySchema>;
export type SponsorRule = z.output<typeof sponsorPolicySchema>['rules'][number] & { id: string };
export interface SponsorPolicy {
  timeZone: string;
  rules: SponsorRule[];
}

/** Validates a policy document; throws a ZodError naming the field. */
export function parseSponsorPolicy(input: unknown): SponsorPolicy {
  const parsed = sponsorPolicySchema.parse(input);
  return { timeZone: parsed.timeZone, rules: parsed.rules.map((rule, index) => ({ ...rule, id: rule.id ?? `${rule.type}-${index + 1}` })) };
}

/** A window a cap needs counted: signed operations (of one sender, or of all) since `since` (null: ever). */
export interface UsageQuery {
  rule: string;
  scope: 'global' | 'sender';
  since: Date | null;
}

export interface Usage {
  count: number;
  wei: bigint;
}

export function usageQueries(policy: SponsorPolicy, at: Date): UsageQuery[] {
  return policy.rules.flatMap((rule): UsageQuery[] =>
    rule.type === 'global' || rule.type === 'per_sender'
      ? [{ rule: rule.id, scope: rule.type === 'global' ? 'global' : 'sender', since: rule.window ? windowStart(rule.window, at, policy.timeZone) : null }]
      : [],
  );
}

export interface SponsorFacts {
  op: UserOperation;
  /** The account's calls; null when its callData is not an execute/executeBatch we can read. */
  calls: Call[] | null;
  maxCostWei: bigint;
  at: Date;
}

export interface Refusal {
  rule: string;
  code: string;
  message: string;
}

const inList = (list: readonly string[], value: string) => list.some((entry) => entry.toLowerCase() === value.toLowerCase());

function checkCap(rule: Extract<SponsorRule, { type: 'global' | 'per_sender' }>, facts: SponsorFacts, used: Usage): Omit<Refusal, 'rule'> | null {
  const scope = rule.type === 'global' ? 'global' : 'sender';
  const where = rule.type === 'global' ? 'for all senders' : `for ${facts.op.sender}`;
  if (rule.maxCount !== undefined && used.count + 1 > rule.maxCount) {
    return { code: `${scope}_count_exceeded`, message: `${used.count} operations already sponsored ${where} in this window; at most ${rule.maxCount}` };
  }
  if (rule.maxWei !== undefined && used.wei + facts.maxCostWei > BigInt(rule.maxWei)) {
    return { code: `${scope}_wei_exceeded`, message: `${used.wei} wei already sponsored ${where} in this window; up to ${facts.maxCostWei} more would pass ${rule.maxWei}` };
  }
  return null;
}

function check(rule: SponsorRule, facts: SponsorFacts, usage: ReadonlyMap<string, Usage>): Omit<Refusal, 'rule'> | null {
  const { op, calls } = facts;
  switch (rule.type) {
    case 'global':
    case 'per_sender':
      return checkCap(rule, facts, usage.get(rule.id) ?? { count: 0, wei: 0n });
    case 'per_operation':
      return facts.maxCostWei > BigInt(rule.maxWei) ? { code: 'operation_wei_exceeded', message: `the operation may cost up to ${facts.maxCostWei} wei; at most ${rule.maxWei}` } : null;
    case 'senders':
      return inList(rule.allow, op.sender) ? null : { code: 'sender_not_allowed', message: `${op.sender} is not on the sender allowlist` };
    case 'targets': {
      if (calls === null) return { code: 'calls_not_understood', message: 'the callData is not a SimpleAccount execute or executeBatch, so its targets cannot be checked' };
      const outside = calls.find((call) => !inList(rule.allow, call.target));
      return outside ? { code: 'target_not_allowed', message: `calls to ${outside.target} are not on the target allowlist` } : null;
    }
    case 'selectors': {
      if (calls === null) return { code: 'calls_not_understood', message: 'the callData is not a SimpleAccount execute or executeBatch, so its methods cannot be checked' };
      // A plain value transfer calls no method; the selector list speaks about methods.
      const outside = calls.find((call) => call.selector !== null && !inList(rule.allow, call.selector));
      return outside ? { code: 'selector_not_allowed', message: `method ${outside.selector} is not on the selector allowlist` } : null;
    }
    case 'active':
      if (rule.from && facts.at.getTime() < Date.parse(rule.from)) return { code: 'policy_not_started', message: `sponsorship starts at ${rule.from}` };
      if (rule.to && facts.at.getTime() >= Date.parse(rule.to)) return { code: 'policy_ended', message: `sponsorship ended at ${rule.to}` };
      return null;
    case 'gas': {
      const limits: [string, bigint, string | undefined][] = [
        ['callGasLimit', op.callGasLimit, rule.callGasLimit],
        ['verificationGasLimit', op.verificationGasLimit, rule.verificationGasLimit],
        ['preVerificationGas', op.preVerificationGas, rule.preVerificationGas],
        ['maxFeePerGas', op.maxFeePerGas, rule.maxFeePerGas],
        ['maxPriorityFeePerGas', op.maxPriorityFeePerGas, rule.maxPriorityFeePerGas],
      ];
      const over = limits.find(([, value, cap]) => cap !== undefined && value > BigInt(cap));
      if (!over) return null;
      const isFee = over[0].startsWith('max');
      return { code: isFee ? 'fee_cap_exceeded' : 'gas_limit_exceeded', message: `${over[0]} ${over[1]} is above the cap of ${over[2]}` };
    }
  }
}

export type SponsorVerdict = { outcome: 'sponsor' } | { outcome: 'refuse'; code: string; message: string; refusals: Refusal[] };

/** Judges an operation against every rule; any broken rule refuses, and the first one names the reason. */
export function evaluateSponsorPolicy(policy: SponsorPolicy, facts: SponsorFacts, usage: ReadonlyMap<string, Usage>): SponsorVerdict {
  const refusals: Refusal[] = [];
  for (const rule of policy.rules) {
    const broken = check(rule, facts, usage);
    if (broken) refusals.push({ rule: rule.id, ...broken });
  }
  if (refusals.length === 0) return { outcome: 'sponsor' };
  return { outcome: 'refuse', code: refusals[0]!.code, message: refusals[0]!.message, refusals };
}
