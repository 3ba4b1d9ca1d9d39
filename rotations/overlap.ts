// How long an old key or secret stays valid beside its successor. "0" ends it at once; otherwise
// the policy grammar's durations (90s, 15m, 24h, 7d; at most 366d).
import { CodedError } from '../infra/index.ts';
import { parseDurationSeconds } from '../wallets/index.ts';

const rotationErrorCodes = ['key_not_found', 'invalid_overlap', 'key_already_rotated', 'rotation_refused'] as const;

/** A rotation that cannot start: no such key, a bad overlap, a key already rotated, or refused by the key's room. */
export class RotationError extends CodedError<(typeof rotationErrorCodes)[number]> {
  static readonly codes = rotationErrorCodes;
  override name = 'RotationError';
}

/** When no --overlap is given: a day, long enough for a deploy to pick up a new key. */
export const defaultOverlapSeconds = 86_400;

export function parseOverlapSeconds(text: string | undefined): number {
  if (text === undefined) return defaultOverlapSeconds;
  if (text === '0') return 0;
  const seconds = parseDurationSeconds(text);
  if (seconds === null) throw new RotationError('invalid_overlap', `the overlap must be 0 or a duration such as 90s, 15m, 24h or 7d (at most 366d); got "${text.slice(0, 40)}"`);
  return seconds;
}
