// The sponsor room's errors carry a stable code; the API maps them (a JSON-RPC error for
// pm_* methods, a problem document for the policy routes). A refusal by policy is not an
// error: it is a decision (decisions.ts), recorded with its reason code.
export type SponsorErrorCode = 'invalid_user_operation' | 'invalid_params' | 'invalid_policy' | 'invalid_signature' | 'not_configured';

export class SponsorError extends Error {
  override name = 'SponsorError';
  readonly code: SponsorErrorCode;
  constructor(code: SponsorErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
