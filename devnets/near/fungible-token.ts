// A NEP-141 fungible token with NEP-145 storage, as near-sdk's reference FungibleToken behaves:
// exactly 1 yoctoNEAR on transfers, registration before receiving, NEP-297 `EVENT_JSON:` logs,
// and ft_transfer_call's refund through ft_resolve_transfer when the receiver gives tokens back
// (or has no contract at all, as a deposit account).
import { ContractPanic, FunctionCallPromise, assertOneYocto, objectArgs, stringArg, teraGas, u128Arg, type ContractContext, type DevnetContract } from './contracts.ts';

/** near-sdk's reference token asks 0.00125 NEAR for an account's registration. */
export const ftStorageDepositYocto = 1_250_000_000_000_000_000_000n;
const resolveTransferGas = 5n * teraGas;

export interface FungibleTokenOptions {
  name: string;
  symbol: string;
  decimals: number;
}

const balanceKey = (accountId: string) => `balance:${accountId}`;

function balanceOf(context: ContractContext, accountId: string): bigint | undefined {
  const stored = context.storage.get(balanceKey(accountId));
  return stored === undefined ? undefined : BigInt(stored);
}

function registeredBalance(context: ContractContext, accountId: string): bigint {
  const balance = balanceOf(context, accountId);
  if (balance === undefined) throw new ContractPanic(`The account ${accountId} is not registered`);
  return balance;
}

function ftEvent(context: ContractContext, event: string, data: Record<string, string>[]): void {
  context.log(`EVENT_JSON:${JSON.stringify({ standard: 'nep141', version: '1.0.0', event, data })}`);
}

function internalTransfer(context: ContractContext, senderId: string, receiverId: string, amount: bigint, memo: string | undefined): void {
  if (senderId === receiverId) throw new ContractPanic('Sender and receiver should be different');
  if (amount <= 0n) throw new ContractPanic('The amount should be a positive number');
  const senderBalance = registeredBalance(context, senderId);
  const receiverBalance = registeredBalance(context, receiverId);
  if (senderBalance < amount) throw new ContractPanic('The account doesn\'t have enough balance');
  context.storage.set(balanceKey(senderId), (senderBalance - amount).toString());
  context.storage.set(balanceKey(receiverId), (receiverBalance + amount).toString());
  ftEvent(context, 'ft_transfer', [{ old_owner_id: senderId, new_owner_id: receiverId, amount: amount.toString(), ...(memo === undefined ? {} : { memo }) }]);
}

const optionalString = (args: Record<string, unknown>, name: string) => (args[name] === undefined || args[name] === null ? undefined : stringArg(args, name));

const storageBalance = (registered: boolean) => (registered ? { total: ftStorageDepositYocto.toString(), available: '0' } : null);

/** The token's storage at genesis: the whole supply on one registered account. */
export function fungibleTokenGenesis(ownerId: string, totalSupply: bigint): Map<string, string> {
  return new Map([
    [balanceKey(ownerId), totalSupply.toString()],
    ['total_supply', totalSupply.toString()],
  ]);
}

export function fungibleToken(options: FungibleTokenOptions): DevnetContract {
  return {
    name: `nep141:${options.symbol}`,
    codeBytes: 180_000,
    methods: {
      ft_metadata: {
        gasBurnt: teraGas,
        view: true,
        run: () => ({ spec: 'ft-1.0.0', name: options.name, symbol: options.symbol, icon: null, reference: null, reference_hash: null, decimals: options.decimals }),
      },
      ft_total_supply: { gasBurnt: teraGas, view: true, run: (_args, context) => context.storage.get('total_supply') ?? '0' },
      ft_balance_of: {
        gasBurnt: teraGas,
        view: true,
        run: (args, context) => (balanceOf(context, stringArg(objectArgs(args), 'account_id')) ?? 0n).toString(),
      },
      storage_balance_bounds: { gasBurnt: teraGas, view: true, run: () => ({ min: ftStorageDepositYocto.toString(), max: ftStorageDepositYocto.toString() }) },
      storage_balance_of: {
        gasBurnt: teraGas,
        view: true,
        run: (args, context) => storageBalance(balanceOf(context, stringArg(objectArgs(args), 'account_id')) !== undefined),
      },
      storage_deposit: {
        gasBurnt: 2n * teraGas,
        run: (args, context) => {
          const accountId = optionalString(objectArgs(args), 'account_id') ?? context.predecessorId;
          if (balanceOf(context, accountId) !== undefined) {
            // Already registered: the whole deposit goes back, as near-sdk's reference token does.
            if (context.attachedDeposit > 0n) context.transfer(context.predecessorId, context.attachedDeposit);
            return storageBalance(true);
          }
          if (context.attachedDeposit < ftStorageDepositYocto) throw new ContractPanic('The attached deposit is less than the minimum storage balance');
          context.storage.set(balanceKey(accountId), '0');
          const excess = context.attachedDeposit - ftStorageDepositYocto;
          if (excess > 0n) context.transfer(context.predecessorId, excess);
          return storageBalance(true);
        },
      },
      ft_transfer: {
        gasBurnt: 3n * teraGas,
        run: (args, context) => {
          assertOneYocto(context);
          const input = objectArgs(args);
          internalTransfer(context, context.predecessorId, stringArg(input, 'receiver_id'), u128Arg(input, 'amount'), optionalString(input, 'memo'));
          return undefined;
        },
      },
      ft_transfer_call: {
        gasBurnt: 4n * teraGas,
        run: (args, context) => {
          assertOneYocto(context);
          const input = objectArgs(args);
          const receiverId = stringArg(input, 'receiver_id');
          const amount = u128Arg(input, 'amount');
          const msg = stringArg(input, 'msg');
          const senderId = context.predecessorId;
          if (context.prepaidGas < 30n * teraGas) throw new ContractPanic('More gas is required');
          internalTransfer(context, senderId, receiverId, amount, optionalString(input, 'memo'));
          // What is left after this call, the callback and the fees of the two receipts it creates.
          const receiverGas = context.prepaidGas - 4n * teraGas - resolveTransferGas - 15n * teraGas;
          return new FunctionCallPromise(
            { receiverId, methodName: 'ft_on_transfer', args: { sender_id: senderId, amount: amount.toString(), msg }, gas: receiverGas, deposit: 0n },
            { methodName: 'ft_resolve_transfer', args: { sender_id: senderId, receiver_id: receiverId, amount: amount.toString() }, gas: resolveTransferGas },
          );
        },
      },
      ft_resolve_transfer: {
        gasBurnt: 2n * teraGas,
        run: (args, context) => {
          if (context.predecessorId !== context.contractId) throw new ContractPanic('Method ft_resolve_transfer is private');
          const input = objectArgs(args);
          const senderId = stringArg(input, 'sender_id');
          const receiverId = stringArg(input, 'receiver_id');
          const amount = u128Arg(input, 'amount');
          const result = context.promiseResults[0];
          // A receiver that failed (or has no contract) used nothing; otherwise it names what it gives back.
          let unused = amount;
          if (result?.status === 'successful') {
            try {
              const returned = JSON.parse(Buffer.from(result.value).toString('utf8')) as unknown;
              unused = typeof returned === 'string' && /^\d+$/.test(returned) && BigInt(returned) < amount ? BigInt(returned) : amount;
            } catch {
              unused = amount;
            }
          }
          const receiverBalance = balanceOf(context, receiverId) ?? 0n;
          const refund = unused < receiverBalance ? unused : receiverBalance;
          if (refund > 0n) {
            context.storage.set(balanceKey(receiverId), (receiverBalance - refund).toString());
            context.storage.set(balanceKey(senderId), ((balanceOf(context, senderId) ?? 0n) + refund).toString());
            ftEvent(context, 'ft_transfer', [{ old_owner_id: receiverId, new_owner_id: senderId, amount: refund.toString(), memo: 'refund' }]);
          }
          return (amount - refund).toString();
        },
      },
    },
  };
}
