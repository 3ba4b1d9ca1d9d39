// Spend windows: where a window that contains a given instant begins. Rolling windows are a
// fixed number of seconds back from the spend; calendar windows are the day, week or month in
// an IANA time zone (the tz database through luxon), so "daily" means the wallet owner's day,
// with its 23- and 25-hour days at DST changes, not 86,400 UTC seconds.
import { DateTime, IANAZone } from 'luxon';

export type CalendarUnit = 'day' | 'week' | 'month';
export type WeekStart = 'monday' | 'sunday';

export type WindowSpec =
  | { rolling: string }
  | { calendar: CalendarUnit; timeZone?: string | undefined; weekStartsOn?: WeekStart | undefined };

/** Rolling windows are at most this long; longer ones are calendar months or a different tool. */
export const rollingSecondsMax = 366 * 86_400;

const durationPattern = /^([1-9][0-9]{0,8})(s|m|h|d)$/;
const unitSeconds = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** "90s", "15m", "24h", "7d", "30d" → seconds; null when malformed or out of range. */
export function parseDurationSeconds(text: string): number | null {
  const match = durationPattern.exec(text);
  if (!match) return null;
  const seconds = Number(match[1]) * unitSeconds[match[2] as keyof typeof unitSeconds];
  return seconds <= rollingSecondsMax ? seconds : null;
}

export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

/**
 * The first instant of the window containing `at`. Rolling: `at` minus the duration (a spend
 * exactly that long ago still counts). Calendar: local midnight of the day, of the week's first
 * day, or of the month's first day; where DST skips midnight, the first instant that exists.
 */
export function windowStart(window: WindowSpec, at: Date, defaultTimeZone: string): Date {
  if ('rolling' in window) {
    const seconds = parseDurationSeconds(window.rolling);
    if (seconds === null) throw new RangeError(`not a window duration: ${window.rolling}`);
    return new Date(at.getTime() - seconds * 1000);
  }
  const local = DateTime.fromJSDate(at, { zone: window.timeZone ?? defaultTimeZone });
  if (!local.isValid) throw new RangeError(`not an IANA time zone: ${window.timeZone ?? defaultTimeZone}`);
  let start: DateTime;
  if (window.calendar === 'day') start = local.startOf('day');
  else if (window.calendar === 'month') start = local.startOf('month');
  else {
    // luxon weekdays: 1 = Monday … 7 = Sunday.
    const daysBack = (window.weekStartsOn ?? 'monday') === 'monday' ? local.weekday - 1 : local.weekday % 7;
    start = local.startOf('day').minus({ days: daysBack }).startOf('day');
  }
  return start.toJSDate();
}

/** Minutes since local midnight and the ISO weekday (1 = Monday) of `at` in `timeZone`. */
export function localClock(at: Date, timeZone: string): { minutes: number; weekday: number } {
  const local = DateTime.fromJSDate(at, { zone: timeZone });
  return { minutes: local.hour * 60 + local.minute, weekday: local.weekday };
}
