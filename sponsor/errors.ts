// The sponsor room's errors carry a stable code; the API maps them (a JSON-RPC error for
// pm_* methods, a problem document for the policy routes, through api/error-codes.ts). A refusal
// by policy is not an error: it is a decision (decisions.ts), recorded with its reason code.
import { CodedError } from '../infra/index.ts';

const sponsorErrorCodes = ['invalid_user_operation', 'invalid_params', 'invalid_policy', 'invalid_signature', 'not_configured'] as const;
export type SponsorErrorCode = (typeof sponsorErrorCodes)[number];

export class SponsorError extends CodedError<SponsorErrorCode> {
  static readonly codes = sponsorErrorCodes;
  override name = 'SponsorError';
}
