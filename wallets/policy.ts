// The spend policy: what a wallet's agent may do, rule by rule, and what happens when a rule is
// broken. Evaluation is a pure function of the policy, the spend and the wallet's usage (sums
// and counts per window, read under the wallet's lock by spends.ts), so it can be tested — and
// benchmarked — without a database.
//
// Deny wins: every rule is checked, every violation is reported, and the most severe one
// decides. Severities, from mild to drastic: `approve` (the owner may approve within a timeout),
// `reject`, `freeze` (reject, and no further spends until unfrozen), `lockdown` (freeze, and the
// wallet's agent keys are revoked). A wallet without a policy allows nothing.
import { z } from 'zod';
import { isTimeZone, localClock, parseDurationSeconds, windowStart, type WindowSpec } from './windows.ts';

export const severities = ['approve', 'reject', 'freeze', 'lockdown'] as const;
export type Severity = (typeof severities)[number];
const severityRank: Record<Severity, number> = { approve: 1, reject: 2, freeze: 3, lockdown: 4 };

export const rulesMax = 50;
export const approvalTimeoutSecondsMax = 7 * 86_400;
const approvalTimeoutSecondsDefault = 3_600;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 20 bytes');
const assetCode = z.string().regex(/^[A-Z][A-Z0-9_.-]{0,31}$/, 'must be a registered asset code such as ETH');
const minorUnits = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a whole number of minor units, as a string');
const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin');
const clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (24-hour)');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** A spend window as policies write it (`window_limit`, `velocity`, and sponsorship caps in sponsor/). */
export const windowSchema = z.union([
  z.strictObject({ rolling: z.string().refine((d) => parseDurationSeconds(d) !== null, 'must be a duration such as 24h, 7d or 30d (at most 366d)') }),
  z.strictObject({ calendar: z.enum(['day', 'week', 'month']), timeZone: timeZone.optional(), weekStartsOn: z.enum(['monday', 'sunday']).optional() }),
]);

/** What every rule has: an id (defaulted from its type and position) and what breaking it does. */
export const ruleCommon = {
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, _ . -').optional(),
  severity: z.enum(severities).default('reject'),
  /** For severity `approve`: how long the owner has before the spend expires. */
  approvalTimeoutSeconds: z.number().int().min(10).max(approvalTimeoutSecondsMax).optional(),
};
const common = ruleCommon;

/** Each rule type's schema, so another policy (the remote signer's) can speak the same grammar. */
export const ruleSchemas = {
  per_tx_cap: z.strictObject({ type: z.literal('per_tx_cap'), asset: assetCode, max: minorUnits, ...common }),
  window_limit: z.strictObject({ type: z.literal('window_limit'), asset: assetCode, max: minorUnits, window: windowSchema, ...common }),
  recipients: z.strictObject({ type: z.literal('recipients'), allow: z.array(address).max(1_000), ...common }),
  contracts: z.strictObject({ type: z.literal('contracts'), allow: z.array(address).max(1_000), ...common }),
  selectors: z.strictObject({ type: z.literal('selectors'), allow: z.array(z.string().regex(/^0x[0-9a-fA-F]{8}$/, 'must be a 4-byte selector such as 0xa9059cbb')).max(1_000), ...common }),
  tokens: z.strictObject({ type: z.literal('tokens'), allow: z.array(assetCode).max(1_000), ...common }),
  hours: z.strictObject({ type: z.literal('hours'), from: clock, to: clock, days: z.array(weekday).min(1).max(7).optional(), timeZone: timeZone.optional(), ...common }),
  cooldown: z.strictObject({ type: z.literal('cooldown'), seconds: z.number().int().min(1).max(30 * 86_400), ...common }),
  velocity: z.strictObject({ type: z.literal('velocity'), max: z.number().int().min(1).max(1_000_000), window: windowSchema, ...common }),
};

const ruleSchema = z.discriminatedUnion('type', [
  ruleSchemas.per_tx_cap,
  ruleSchemas.window_limit,
  ruleSchemas.recipients,
  ruleSchemas.contracts,
  ruleSchemas.selectors,
  ruleSchemas.tokens,
  ruleSchemas.hours,
  ruleSchemas.cooldown,
  ruleSchemas.velocity,
]);

export const policySchema = z
  .strictObject({
    /** Default zone of calendar windows and allowed hours. */
    timeZone: timeZone.default('UTC'),
    rules: z.array(ruleSchema).max(rulesMax),
  })
  .superRefine((policy, ctx) => refineRules(policy.rules, ctx));

/** What the checks across rules need to see of a rule. */
interface RuleBasics {
  type: string;
  id?: string | undefined;
  severity: Severity;
  approvalTimeoutSeconds?: number | undefined;
  from?: string;
  to?: string;
}

/** Checks across a policy's rules: ids unique, approval timeouts only on `approve`, hours that span time. */
export function refineRules(rules: readonly RuleBasics[], ctx: z.RefinementCtx): void {
  const ids = new Set<string>();
  rules.forEach((rule, index) => {
    const id = rule.id ?? `${rule.type}-${index + 1}`;
    if (ids.has(id)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `rule id ${id} is used twice` });
    ids.add(id);
    if (rule.approvalTimeoutSeconds !== undefined && rule.severity !== 'approve') {
      ctx.addIssue({ code: 'custom', path: ['rules', index, 'approvalTimeoutSeconds'], message: 'only rules with severity approve have an approval timeout' });
    }
    if (rule.type === 'hours' && rule.from === rule.to) ctx.addIssue({ code: 'custom', path: ['rules', index, 'to'], message: 'from and to must differ (leave the rule out to allow every hour)' });
  });
}

export type PolicyInput = z.input<typeof policySchema>;
type ParsedPolicy = z.output<typeof policySchema>;
export type PolicyRule = ParsedPolicy['rules'][number] & { id: string };
export interface Policy {
  timeZone: string;
  rules: PolicyRule[];
}

/** Validates a policy; throws a ZodError (the API turns it into a 422 naming the field). */
export function parsePolicy(input: unknown): Policy {
  const parsed = policySchema.parse(input);
  return { timeZone: parsed.timeZone, rules: parsed.rules.map((rule, index) => ({ ...rule, id: rule.id ?? `${rule.type}-${index + 1}` })) };
}

/** What is being spent, as the policy sees it. */
export interface SpendFacts {
  asset: string;
  amount: bigint;
  /** Who receives the value (the token transfer's recipient for tokens). */
  recipient: string;
  /** The transaction's `to`: the recipient, or the token contract. */
  txTo: string;
  /** Calldata the agent supplied (a contract call); null for plain transfers coffer builds. */
  callData: string | null;
  at: Date;
}

/** A window the policy needs counted: spends of `asset` (or of every asset) since `since`. */
export interface WindowQuery {
  key: string;
  asset: string | null;
  since: Date;
}

export interface WalletUsage {
  /** Per WindowQuery key: the amount held or spent and the number of spends in the window. */
  windows: Map<string, { amount: bigint; count: number }>;
  lastSpendAt: Date | null;
}

export interface Violation {
  /** The rule's id; for checks outside the policy (funds, a frozen wallet), the code. */
  rule: string;
  type: PolicyRule['type'] | 'system';
  code: string;
  severity: Severity;
  message: string;
  detail: Record<string, string | number | null>;
}

export type Verdict =
  | { outcome: 'allow'; violations: [] }
  | { outcome: 'approve'; violations: Violation[]; approvalTimeoutSeconds: number }
  | { outcome: 'reject' | 'freeze' | 'lockdown'; violations: Violation[]; code: string };

const windowKey = (rule: PolicyRule) => `${rule.id}`;

/** The windows `policy` needs counted for a spend at `at`. */
export function windowQueries(policy: Policy, at: Date): WindowQuery[] {
  return policy.rules.flatMap((rule): WindowQuery[] => {
    if (rule.type === 'window_limit') return [{ key: windowKey(rule), asset: rule.asset, since: windowStart(rule.window, at, policy.timeZone) }];
    if (rule.type === 'velocity') return [{ key: windowKey(rule), asset: null, since: windowStart(rule.window, at, policy.timeZone) }];
    return [];
  });
}

const describeWindow = (window: WindowSpec, zone: string) =>
  'rolling' in window ? `the last ${window.rolling}` : `this calendar ${window.calendar} (${window.timeZone ?? zone})`;

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Checks one rule; null when it holds. */
export function checkRule(rule: PolicyRule, policy: Policy, spend: SpendFacts, usage: WalletUsage): Omit<Violation, 'rule' | 'type' | 'severity'> | null {
  switch (rule.type) {
    case 'per_tx_cap':
      return spend.asset === rule.asset && spend.amount > BigInt(rule.max)
        ? { code: 'per_tx_cap_exceeded', message: `${spend.amount} ${spend.asset} is above the per-transaction cap of ${rule.max}`, detail: { amount: spend.amount.toString(), max: rule.max } }
        : null;
    case 'window_limit': {
      if (spend.asset !== rule.asset) return null;
      const used = usage.windows.get(windowKey(rule))?.amount ?? 0n;
      return used + spend.amount > BigInt(rule.max)
        ? {
            code: 'window_limit_exceeded',
            message: `${used} ${rule.asset} already spent in ${describeWindow(rule.window, policy.timeZone)}; ${spend.amount} more would pass the limit of ${rule.max}`,
            detail: { used: used.toString(), amount: spend.amount.toString(), max: rule.max },
          }
        : null;
    }
    case 'recipients':
      return rule.allow.some((a) => a.toLowerCase() === spend.recipient.toLowerCase())
        ? null
        : { code: 'recipient_not_allowed', message: `${spend.recipient} is not on the recipient allowlist`, detail: { recipient: spend.recipient } };
    case 'contracts':
      return spend.callData === null || rule.allow.some((a) => a.toLowerCase() === spend.txTo.toLowerCase())
        ? null
        : { code: 'contract_not_allowed', message: `calls to ${spend.txTo} are not on the contract allowlist`, detail: { contract: spend.txTo } };
    case 'selectors': {
      if (spend.callData === null) return null;
      const selector = spend.callData.slice(0, 10).toLowerCase();
      return selector.length === 10 && rule.allow.some((s) => s.toLowerCase() === selector)
        ? null
        : { code: 'selector_not_allowed', message: `method ${selector.length === 10 ? selector : '(none)'} is not on the selector allowlist`, detail: { selector } };
    }
    case 'tokens':
      return rule.allow.includes(spend.asset) ? null : { code: 'token_not_allowed', message: `${spend.asset} is not on the token allowlist`, detail: { asset: spend.asset } };
    case 'hours': {
      const zone = rule.timeZone ?? policy.timeZone;
      const { minutes, weekday } = localClock(spend.at, zone);
      const from = minutesOf(rule.from);
      const to = minutesOf(rule.to);
      const inHours = from < to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
      // A window past midnight belongs to the day it started on.
      const day = weekdays[(from > to && minutes < to ? weekday + 5 : weekday - 1) % 7]!;
      const onDay = !rule.days || rule.days.includes(day);
      return inHours && onDay
        ? null
        : { code: 'outside_allowed_hours', message: `spends are allowed ${rule.from}–${rule.to}${rule.days ? ` on ${rule.days.join(', ')}` : ''} (${zone})`, detail: { localMinutes: minutes, timeZone: zone } };
    }
    case 'cooldown': {
      if (!usage.lastSpendAt) return null;
      const elapsedMs = spend.at.getTime() - usage.lastSpendAt.getTime();
      return elapsedMs < rule.seconds * 1000
        ? { code: 'cooldown_active', message: `the last spend was ${Math.floor(elapsedMs / 1000)} s ago; the cooldown is ${rule.seconds} s`, detail: { elapsedSeconds: Math.floor(elapsedMs / 1000), seconds: rule.seconds } }
        : null;
    }
    case 'velocity': {
      const count = usage.windows.get(windowKey(rule))?.count ?? 0;
      return count + 1 > rule.max
        ? { code: 'velocity_exceeded', message: `${count} spends already in ${describeWindow(rule.window, policy.timeZone)}; at most ${rule.max}`, detail: { count, max: rule.max } }
        : null;
    }
  }
}

/** Judges a spend: every rule is checked; the most severe violation decides. */
export function evaluatePolicy(policy: Policy, spend: SpendFacts, usage: WalletUsage, options: { waive?: readonly Severity[] } = {}): Verdict {
  const violations: Violation[] = [];
  for (const rule of policy.rules) {
    if (options.waive?.includes(rule.severity)) continue;
    const broken = checkRule(rule, policy, spend, usage);
    if (broken) violations.push({ rule: rule.id, type: rule.type, severity: rule.severity, ...broken });
  }
  if (violations.length === 0) return { outcome: 'allow', violations: [] };
  const worst = violations.reduce((a, b) => (severityRank[b.severity] > severityRank[a.severity] ? b : a));
  if (worst.severity === 'approve') {
    const timeouts = policy.rules.filter((r) => violations.some((v) => v.rule === r.id)).map((r) => r.approvalTimeoutSeconds ?? approvalTimeoutSecondsDefault);
    return { outcome: 'approve', violations, approvalTimeoutSeconds: Math.min(...timeouts) };
  }
  return { outcome: worst.severity, violations, code: worst.code };
}
