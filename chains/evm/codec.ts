// EVM addresses: 20 bytes, shown EIP-55 checksummed, stored and compared in lower case (the
// ledger's account paths and every table hold the lower-case form).
import { getAddress } from 'viem';
import { ethereumAddress } from '../../signer/index.ts';
import { InvalidAddressError, type AddressCodec } from '../types.ts';

const addressPattern = /^0x[0-9a-fA-F]{40}$/;

export function evmAddressCodec(chainId: number): AddressCodec {
  return {
    fromPublicKey: (publicKey) => ethereumAddress(publicKey),
    isValid: (text) => addressPattern.test(text),
    canonical(text) {
      if (!addressPattern.test(text)) throw new InvalidAddressError(`"${text.slice(0, 80)}" is not a 0x-prefixed 20-byte address`);
      return text.toLowerCase();
    },
    // EIP-681; a token transfer names the token contract and calls its transfer(address,uint256).
    paymentUri({ address, amount, asset }) {
      const to = getAddress(address.toLowerCase());
      if (asset?.contract) {
        const query = new URLSearchParams({ address: to, ...(amount !== undefined ? { uint256: amount.toString() } : {}) });
        return `ethereum:${getAddress(asset.contract.toLowerCase())}@${chainId}/transfer?${query.toString()}`;
      }
      return `ethereum:${to}@${chainId}${amount !== undefined ? `?value=${amount}` : ''}`;
    },
  };
}
