// The shape of coffer's domain errors: a stable machine `code`, one of the codes its class lists
// in `static codes`. api/error-codes.ts maps every class's codes to HTTP statuses; nothing in a
// domain room knows a status.

export abstract class CodedError<Code extends string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
