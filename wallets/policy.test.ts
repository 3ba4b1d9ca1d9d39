// The policy engine as a pure function, and the time-zone arithmetic of its windows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluatePolicy, parsePolicy, windowQueries, type Policy, type SpendFacts, type WalletUsage } from './policy.ts';
import { parseDurationSeconds, windowStart } from './windows.ts';

const at = new Date('2026-11-21T10:00:00Z');
const spend = (over: Partial<SpendFacts> = {}): SpendFacts => ({
  asset: 'ETH',
  amount: 100n,
  recipient: '0x00000000000000000000000000000000000000b0',
  txTo: '0x00000000000000000000000000000000000000b0',
  callData: null,
  at,
  ...over,
});
const noUsage: WalletUsage = { windows: new Map(), lastSpendAt: null };

describe('windows', () => {
  test('calendar days in a zone start at local midnight, also on 23- and 25-hour days', () => {
    const day = { calendar: 'day' as const };
    assert.equal(windowStart(day, new Date('2026-11-20T14:30:00Z'), 'Asia/Seoul').toISOString(), '2026-11-19T15:00:00.000Z');
    assert.equal(windowStart(day, new Date('2026-11-20T15:30:00Z'), 'Asia/Seoul').toISOString(), '2026-11-20T15:00:00.000Z');
    // Berlin, spring forward on 2026-03-29: that day is 23 h long.
    assert.equal(windowStart(day, new Date('2026-03-29T21:50:00Z'), 'Europe/Berlin').toISOString(), '2026-03-28T23:00:00.000Z');
    assert.equal(windowStart(day, new Date('2026-03-29T22:10:00Z'), 'Europe/Berlin').toISOString(), '2026-03-29T22:00:00.000Z');
    // New York, fall back on 2026-11-01: that day is 25 h long.
    assert.equal(windowStart(day, new Date('2026-11-02T04:30:00Z'), 'America/New_York').toISOString(), '2026-11-01T04:00:00.000Z');
    assert.equal(windowStart(day, new Date('2026-11-02T05:30:00Z'), 'America/New_York').toISOString(), '2026-11-02T05:00:00.000Z');
  });

  test('where DST skips midnight, the day starts at the first local instant that exists', () => {
    // Santiago moved clocks from 00:00 to 01:00 on 2026-09-06.
    assert.equal(windowStart({ calendar: 'day' }, new Date('2026-09-06T12:00:00Z'), 'America/Santiago').toISOString(), '2026-09-06T04:00:00.000Z');
  });

  test('weeks start on Monday or Sunday; months on the first', () => {
    const saturday = new Date('2026-11-21T10:00:00Z');
    assert.equal(windowStart({ calendar: 'week' }, saturday, 'UTC').toISOString(), '2026-11-16T00:00:00.000Z');
    assert.equal(windowStart({ calendar: 'week', weekStartsOn: 'sunday' }, saturday, 'UTC').toISOString(), '2026-11-15T00:00:00.000Z');
    assert.equal(windowStart({ calendar: 'week', weekStartsOn: 'sunday' }, new Date('2026-11-22T10:00:00Z'), 'UTC').toISOString(), '2026-11-22T00:00:00.000Z');
    assert.equal(windowStart({ calendar: 'month', timeZone: 'Pacific/Auckland' }, saturday, 'UTC').toISOString(), '2026-10-31T11:00:00.000Z');
  });

  test('rolling windows are exact durations, whatever the zone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.constantFrom('90s', '15m', '24h', '7d', '30d'), (ms, duration) => {
        const instant = new Date(ms);
        assert.equal(instant.getTime() - windowStart({ rolling: duration }, instant, 'Europe/Berlin').getTime(), parseDurationSeconds(duration)! * 1000);
      }),
    );
    assert.equal(parseDurationSeconds('0h'), null);
    assert.equal(parseDurationSeconds('400d'), null);
    assert.equal(parseDurationSeconds('1w'), null);
  });

  test('a calendar window always contains its instant and starts less than a month before it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.constantFrom('day', 'week', 'month'),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago'),
        (ms, unit, zone) => {
          const instant = new Date(ms);
          const start = windowStart({ calendar: unit }, instant, zone);
          assert.ok(start.getTime() <= instant.getTime());
          assert.ok(instant.getTime() - start.getTime() < 32 * 86_400_000);
        },
      ),
    );
  });
});

describe('policy validation', () => {
  test('defaults: UTC, severity reject, rule ids by position', () => {
    const policy = parsePolicy({ rules: [{ type: 'cooldown', seconds: 30 }] });
    assert.deepEqual(policy, { timeZone: 'UTC', rules: [{ type: 'cooldown', seconds: 30, severity: 'reject', id: 'cooldown-1' }] });
  });

  test('refuses what it cannot enforce, naming the field', () => {
    const refused = (input: unknown, pattern: RegExp) => assert.throws(() => parsePolicy(input), pattern);
    refused({ timeZone: 'Mars/Olympus', rules: [] }, /IANA/);
    refused({ rules: [{ type: 'window_limit', asset: 'ETH', max: '10', window: { rolling: '1y' } }] }, /duration/);
    refused({ rules: [{ type: 'per_tx_cap', asset: 'ETH', max: '1.5' }] }, /whole number/);
    refused({ rules: [{ type: 'hours', from: '25:00', to: '10:00' }] }, /HH:MM/);
    refused({ rules: [{ type: 'hours', from: '10:00', to: '10:00' }] }, /must differ/);
    refused({ rules: [{ type: 'cooldown', seconds: 5, approvalTimeoutSeconds: 60 }] }, /only rules with severity approve/);
    refused({ rules: [{ id: 'a', type: 'cooldown', seconds: 5 }, { id: 'a', type: 'cooldown', seconds: 9 }] }, /used twice/);
    refused({ rules: [{ type: 'teleport' }] }, /type/);
    refused({ rules: [], extra: true }, /extra/);
  });
});

describe('evaluation', () => {
  const policy = (rules: unknown[], timeZone = 'UTC'): Policy => parsePolicy({ timeZone, rules });

  test('allowed hours wrap midnight and belong to the day they start on', () => {
    const night = policy([{ type: 'hours', from: '22:00', to: '06:00', days: ['fri'] }]);
    // 2026-11-20 is a Friday: 23:00 Friday and 02:00 Saturday (Friday's night) pass; 02:00 Friday does not.
    assert.equal(evaluatePolicy(night, spend({ at: new Date('2026-11-20T23:00:00Z') }), noUsage).outcome, 'allow');
    assert.equal(evaluatePolicy(night, spend({ at: new Date('2026-11-21T02:00:00Z') }), noUsage).outcome, 'allow');
    assert.equal(evaluatePolicy(night, spend({ at: new Date('2026-11-20T02:00:00Z') }), noUsage).outcome, 'reject');
    assert.equal(evaluatePolicy(night, spend({ at: new Date('2026-11-21T12:00:00Z') }), noUsage).outcome, 'reject');
  });

  test('windows count per asset; velocity counts every spend', () => {
    const p = policy([
      { id: 'eth-day', type: 'window_limit', asset: 'ETH', max: '250', window: { calendar: 'day' } },
      { id: 'rate', type: 'velocity', max: 3, window: { rolling: '1h' } },
    ]);
    assert.deepEqual(windowQueries(p, at).map((q) => [q.key, q.asset, q.since.toISOString()]), [
      ['eth-day', 'ETH', '2026-11-21T00:00:00.000Z'],
      ['rate', null, '2026-11-21T09:00:00.000Z'],
    ]);
    const usage = (amount: bigint, count: number): WalletUsage => ({ windows: new Map([['eth-day', { amount, count }], ['rate', { amount: 0n, count }]]), lastSpendAt: null });
    assert.equal(evaluatePolicy(p, spend(), usage(150n, 2)).outcome, 'allow');
    assert.deepEqual(evaluatePolicy(p, spend(), usage(151n, 2)).violations.map((v) => v.code), ['window_limit_exceeded']);
    assert.deepEqual(evaluatePolicy(p, spend({ asset: 'TUSDC' }), usage(1_000n, 2)).violations, []);
    assert.deepEqual(evaluatePolicy(p, spend(), usage(0n, 3)).violations.map((v) => v.code), ['velocity_exceeded']);
  });

  test('the most severe violation decides; the shortest approval timeout wins; approval can be waived', () => {
    const p = policy([
      { type: 'per_tx_cap', asset: 'ETH', max: '50', severity: 'approve', approvalTimeoutSeconds: 900 },
      { type: 'cooldown', seconds: 60, severity: 'approve', approvalTimeoutSeconds: 120 },
      { type: 'recipients', allow: ['0x00000000000000000000000000000000000000b0'], severity: 'lockdown' },
    ]);
    const recent: WalletUsage = { windows: new Map(), lastSpendAt: new Date(at.getTime() - 10_000) };
    const approve = evaluatePolicy(p, spend(), recent);
    assert.equal(approve.outcome, 'approve');
    assert.equal(approve.outcome === 'approve' && approve.approvalTimeoutSeconds, 120);
    assert.equal(evaluatePolicy(p, spend(), recent, { waive: ['approve'] }).outcome, 'allow');
    const lockdown = evaluatePolicy(p, spend({ recipient: '0x00000000000000000000000000000000000000ee' }), recent);
    assert.equal(lockdown.outcome, 'lockdown');
    assert.equal(lockdown.violations.length, 3);
  });

  test('deny wins for any set of rules: allow only when no rule is broken', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n }), (amount, cap, used) => {
        const p = policy([
          { type: 'per_tx_cap', asset: 'ETH', max: cap.toString() },
          { id: 'w', type: 'window_limit', asset: 'ETH', max: cap.toString(), window: { rolling: '24h' } },
        ]);
        const verdict = evaluatePolicy(p, spend({ amount }), { windows: new Map([['w', { amount: used, count: 0 }]]), lastSpendAt: null });
        assert.equal(verdict.outcome === 'allow', amount <= cap && used + amount <= cap);
      }),
    );
  });
});
