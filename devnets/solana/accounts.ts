// Accounts as Solana's RPC shows them: raw (base64/base58) or jsonParsed for SPL token accounts and
// mints, and the pre/post token balances a transaction's meta carries.
import { getBase58Decoder, getBase64Decoder, type Address, type EncodedAccount, type MaybeEncodedAccount } from '@solana/kit';
import { AccountState, getMintDecoder, getTokenDecoder, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { invalidParams } from './errors.ts';

export const TOKEN_2022_PROGRAM_ADDRESS = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PE9n9ss5xgTsGE' as Address;
const tokenAccountBytes = 165;
const mintBytes = 82;
// Token-2022 appends extensions after the classic layout; byte 165 then says which kind of account it is.
const token2022AccountTypeOffset = 165;
const token2022AccountTypeAccount = 2;
const token2022AccountTypeMint = 1;
// Solana reports rent-exempt accounts with rentEpoch u64::MAX.
const rentEpochExempt = 18_446_744_073_709_551_615n;

const base58 = getBase58Decoder();
const base64 = getBase64Decoder();
const tokenDecoder = getTokenDecoder();
const mintDecoder = getMintDecoder();

/** `binary` is agave's legacy default for getAccountInfo: data as a bare base58 string. */
export type AccountEncoding = 'binary' | 'base58' | 'base64' | 'jsonParsed';
export type ReadAccount = (address: Address) => MaybeEncodedAccount;
/** An account as LiteSVM hands it out: from getAccount (maybe missing) or from a program listing. */
export type AnyAccount = MaybeEncodedAccount | EncodedAccount;
type PresentAccount = EncodedAccount;

function present(account: AnyAccount): account is PresentAccount {
  return !('exists' in account) || account.exists;
}

export interface UiTokenAmount {
  amount: string;
  decimals: number;
  /** Solana's lossy float field, kept for the wire shape; read `amount`. */
  uiAmount: number;
  uiAmountString: string;
}

export interface TokenBalance {
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  uiTokenAmount: UiTokenAmount;
}

export function isTokenProgram(program: string): boolean {
  return program === TOKEN_PROGRAM_ADDRESS || program === TOKEN_2022_PROGRAM_ADDRESS;
}

function kindOf(account: AnyAccount): 'token' | 'mint' | null {
  if (!present(account) || !isTokenProgram(account.programAddress)) return null;
  const size = account.data.length;
  if (size === tokenAccountBytes) return 'token';
  if (size === mintBytes) return 'mint';
  if (size > token2022AccountTypeOffset && account.programAddress === TOKEN_2022_PROGRAM_ADDRESS) {
    const type = account.data[token2022AccountTypeOffset];
    if (type === token2022AccountTypeAccount) return 'token';
    if (type === token2022AccountTypeMint) return 'mint';
  }
  return null;
}

export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const digits = amount.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  const uiAmountString = fraction ? `${whole}.${fraction}` : whole;
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

function decodeToken(account: PresentAccount) {
  return tokenDecoder.decode(account.data.subarray(0, tokenAccountBytes));
}

function decimalsOf(mint: Address, read: ReadAccount): number {
  const account = read(mint);
  if (kindOf(account) !== 'mint' || !present(account)) return 0;
  return mintDecoder.decode(account.data.subarray(0, mintBytes)).decimals;
}

/** Token balances of every initialized token account among a transaction's keys, in key order. */
export function tokenBalances(accounts: readonly AnyAccount[], read: ReadAccount): TokenBalance[] {
  const balances: TokenBalance[] = [];
  accounts.forEach((account, accountIndex) => {
    if (kindOf(account) !== 'token' || !present(account)) return;
    const token = decodeToken(account);
    if (token.state === AccountState.Uninitialized) return;
    balances.push({
      accountIndex,
      mint: token.mint,
      owner: token.owner,
      programId: account.programAddress,
      uiTokenAmount: uiTokenAmount(token.amount, decimalsOf(token.mint, read)),
    });
  });
  return balances;
}

function parsed(account: PresentAccount, read: ReadAccount): unknown {
  const program = account.programAddress === TOKEN_PROGRAM_ADDRESS ? 'spl-token' : 'spl-token-2022';
  const kind = kindOf(account);
  if (kind === 'token') {
    const token = decodeToken(account);
    const decimals = decimalsOf(token.mint, read);
    const info: Record<string, unknown> = {
      isNative: token.isNative.__option === 'Some',
      mint: token.mint,
      owner: token.owner,
      state: token.state === AccountState.Frozen ? 'frozen' : 'initialized',
      tokenAmount: uiTokenAmount(token.amount, decimals),
    };
    if (token.delegate.__option === 'Some') {
      info.delegate = token.delegate.value;
      info.delegatedAmount = uiTokenAmount(token.delegatedAmount, decimals);
    }
    if (token.closeAuthority.__option === 'Some') info.closeAuthority = token.closeAuthority.value;
    return { program, parsed: { type: 'account', info }, space: account.data.length };
  }
  const mint = mintDecoder.decode(account.data.subarray(0, mintBytes));
  return {
    program,
    parsed: {
      type: 'mint',
      info: {
        decimals: mint.decimals,
        freezeAuthority: mint.freezeAuthority.__option === 'Some' ? mint.freezeAuthority.value : null,
        isInitialized: mint.isInitialized,
        mintAuthority: mint.mintAuthority.__option === 'Some' ? mint.mintAuthority.value : null,
        supply: mint.supply.toString(),
      },
    },
    space: account.data.length,
  };
}

export interface DataSlice {
  offset: number;
  length: number;
}

/** The `value` of getAccountInfo (and each account of getTokenAccountsByOwner). */
export function accountJson(account: AnyAccount, encoding: AccountEncoding, read: ReadAccount, slice?: DataSlice): unknown {
  if (!present(account)) return null;
  const data = slice ? account.data.subarray(slice.offset, slice.offset + slice.length) : account.data;
  let encoded: unknown;
  if (encoding === 'jsonParsed' && !slice && kindOf(account)) encoded = parsed(account, read);
  else if (encoding === 'binary') encoded = base58.decode(data);
  else if (encoding === 'base58') encoded = [base58.decode(data), 'base58'];
  else encoded = [base64.decode(data), 'base64'];
  return {
    data: encoded,
    executable: account.executable,
    lamports: account.lamports,
    owner: account.programAddress,
    rentEpoch: rentEpochExempt,
    space: account.data.length,
  };
}

export function accountEncoding(value: unknown, fallback: AccountEncoding): AccountEncoding {
  if (value === undefined) return fallback;
  if (value === 'binary' || value === 'base58' || value === 'base64' || value === 'jsonParsed') return value;
  throw invalidParams(`unsupported account encoding ${JSON.stringify(value)}; use base58, base64 or jsonParsed`);
}
