// "Contracts" on the NEAR devnet are TypeScript objects registered on accounts (there is no wasm
// VM here). The chain runs them as nearcore runs a contract: with the receipt's predecessor,
// signer, deposit and gas, over the account's own key-value storage, with logs, detached
// transfers and one cross-contract call with a callback (what NEP-141's ft_transfer_call needs).

export class ContractPanic extends Error {
  override name = 'ContractPanic';
}

export type PromiseResult = { status: 'successful'; value: Uint8Array } | { status: 'failed' };

export interface ContractContext {
  contractId: string;
  predecessorId: string;
  signerId: string;
  attachedDeposit: bigint;
  prepaidGas: bigint;
  blockHeight: number;
  /** The contract account's storage; writes are rolled back when the call fails. */
  storage: Map<string, string>;
  /** Results of the receipts this call was a callback of, in order. */
  promiseResults: PromiseResult[];
  isView: boolean;
  log(line: string): void;
  /** A Transfer receipt from the contract, sent whatever the call returns (if it succeeds). */
  transfer(receiverId: string, amountYocto: bigint): void;
}

/** A call on another account, optionally followed by a callback on this contract with its result. */
export class FunctionCallPromise {
  readonly call: { receiverId: string; methodName: string; args: unknown; gas: bigint; deposit: bigint };
  readonly callback: { methodName: string; args: unknown; gas: bigint } | undefined;

  constructor(call: FunctionCallPromise['call'], callback?: FunctionCallPromise['callback']) {
    this.call = call;
    this.callback = callback;
  }
}

export interface ContractMethod {
  /** Gas the method burns beyond the function-call fee; a call with less prepaid gas fails with GasExceeded. */
  gasBurnt: bigint;
  /** View methods may run in `query call_function`; the others only in receipts. */
  view?: boolean;
  /** Returns JSON-serialisable data, undefined for an empty result, or a promise whose result becomes the call's. */
  run(args: unknown, context: ContractContext): unknown;
}

export interface DevnetContract {
  /** Distinguishes the code hash the account reports. */
  name: string;
  /** What the deployed code would weigh, for the account's storage usage. */
  codeBytes: number;
  methods: Record<string, ContractMethod>;
}

export const teraGas = 1_000_000_000_000n;

/** near-sdk's assert_one_yocto, with its message. */
export function assertOneYocto(context: ContractContext): void {
  if (context.attachedDeposit !== 1n) throw new ContractPanic('Requires attached deposit of exactly 1 yoctoNEAR');
}

export function objectArgs(args: unknown): Record<string, unknown> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new ContractPanic('Failed to deserialize input from JSON.');
  return args as Record<string, unknown>;
}

export function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new ContractPanic(`Failed to deserialize input from JSON.: missing or invalid field \`${name}\``);
  return value;
}

/** A U128 passed as a JSON string of decimal digits, as near-sdk requires. */
export function u128Arg(args: Record<string, unknown>, name: string): bigint {
  const value = stringArg(args, name);
  if (!/^\d{1,39}$/.test(value)) throw new ContractPanic(`Failed to deserialize input from JSON.: invalid U128 \`${name}\``);
  const parsed = BigInt(value);
  if (parsed >= 1n << 128n) throw new ContractPanic(`Failed to deserialize input from JSON.: \`${name}\` does not fit in a u128`);
  return parsed;
}
