// The remote signer's refusals, each with a stable code. The API turns them into JSON-RPC errors
// (and HTTP statuses for the REST routes); nothing here knows about either.
export const remoteSignerErrorCodes = [
  /** The request is malformed: a missing nonce, fee fields that contradict each other, bad hex. */
  'invalid_params',
  /** No key of this client has that address or public key. */
  'unknown_key',
  /** No such key or client (operator actions). */
  'not_found',
  /** The name, or the key material, exists already. */
  'conflict',
  /** The policy refused (details list every violated rule); nothing was signed. */
  'policy_refused',
  /** The key's material cannot be reached (keystore locked, MPC signer down): fail closed. */
  'key_unavailable',
  /** The signer is not configured in this process. */
  'unavailable',
] as const;
export type RemoteSignerErrorCode = (typeof remoteSignerErrorCodes)[number];

export class RemoteSignerError extends Error {
  static readonly codes = remoteSignerErrorCodes;
  override name = 'RemoteSignerError';
  readonly code: RemoteSignerErrorCode;
  /** For policy refusals: the reason code of the deciding violation and every violation. */
  readonly detail: Record<string, unknown> | undefined;
  constructor(code: RemoteSignerErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.detail = detail;
  }
}
