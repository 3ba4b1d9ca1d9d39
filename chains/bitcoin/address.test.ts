import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32m } from '@scure/base';
import * as bitcoin from 'bitcoinjs-lib';
import { bitcoinP2wpkhAddress } from '../../signer/index.ts';
import { addressToScript, bip21Uri, decodeWif, encodeWif, formatBtc, hash160, p2wpkhAddress, p2wpkhKeyHash, p2wpkhScript, BitcoinAddressError } from './address.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
// The generator point, compressed: BIP173's example key.
const generator = Buffer.from('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', 'hex');

describe('P2WPKH addresses', () => {
  test('BIP173 example: the generator key on mainnet and testnet', () => {
    assert.equal(p2wpkhAddress({ publicKey: generator, network: 'mainnet' }), 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    assert.equal(p2wpkhAddress({ publicKey: generator, network: 'testnet' }), 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
    assert.equal(hex(p2wpkhScript(generator)), '0014751e76e8199196d454941c45d1b3a323f1433bd6');
  });

  test('the regtest forms agree with bitcoinjs-lib and with the signer room, and share one script', () => {
    const publicKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
    const hash = hash160(publicKey);
    const core = p2wpkhAddress({ publicKey, network: 'regtest' });
    const bcoin = p2wpkhAddress({ publicKey, network: 'bcoin-regtest' });
    assert.equal(core, bitcoin.address.toBech32(hash, 0, 'bcrt'));
    assert.equal(bcoin, bitcoin.address.toBech32(hash, 0, 'rb'));
    assert.equal(core, bitcoinP2wpkhAddress(secp256k1.Point.fromBytes(publicKey).toBytes(false), 'regtest'));
    assert.ok(bcoin.startsWith('rb1q'));
    const script = hex(p2wpkhScript(publicKey));
    assert.equal(hex(addressToScript({ address: core, network: 'regtest' })), script);
    assert.equal(hex(addressToScript({ address: bcoin, network: 'bcoin-regtest' })), script);
    assert.equal(hex(p2wpkhKeyHash(p2wpkhScript(publicKey))!), hex(hash));
  });

  test('refuses uncompressed keys and bytes that are not a point', () => {
    const uncompressed = secp256k1.Point.fromBytes(generator).toBytes(false);
    assert.throws(() => p2wpkhScript(uncompressed), BitcoinAddressError);
    assert.throws(() => p2wpkhScript(Uint8Array.of(0x02, ...new Uint8Array(32).fill(0xff))), BitcoinAddressError);
  });
});

describe('addressToScript', () => {
  test('base58 P2PKH and P2SH, checked against bitcoinjs-lib', () => {
    const hash = hash160(generator);
    assert.equal(hex(addressToScript({ address: '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH', network: 'mainnet' })), `76a914${hex(hash)}88ac`);
    const p2sh = bitcoin.address.toBase58Check(hash, 0xc4);
    assert.equal(hex(addressToScript({ address: p2sh, network: 'testnet' })), `a914${hex(hash)}87`);
    const bcoinP2pkh = bitcoin.address.toBase58Check(hash, 0x3c);
    assert.equal(hex(addressToScript({ address: bcoinP2pkh, network: 'bcoin-regtest' })), `76a914${hex(hash)}88ac`);
    assert.throws(() => addressToScript({ address: bcoinP2pkh, network: 'regtest' }), /another network/);
  });

  test('Taproot (bech32m, witness v1) and upper-case bech32', () => {
    const program = generator.subarray(1);
    const taproot = bech32m.encode('bc', [1, ...bech32m.toWords(program)]);
    assert.equal(hex(addressToScript({ address: taproot, network: 'mainnet' })), `5120${hex(program)}`);
    assert.equal(hex(addressToScript({ address: 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', network: 'mainnet' })), '0014751e76e8199196d454941c45d1b3a323f1433bd6');
  });

  test('rejects the wrong prefix, the wrong checksum variant, a bad checksum and garbage', () => {
    const hash = hash160(generator);
    assert.throws(() => addressToScript({ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', network: 'testnet' }), BitcoinAddressError);
    assert.throws(() => addressToScript({ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', network: 'mainnet' }), BitcoinAddressError);
    const v0WithBech32m = bech32m.encode('bc', [0, ...bech32m.toWords(hash)]);
    assert.throws(() => addressToScript({ address: v0WithBech32m, network: 'mainnet' }), /must use bech32$/);
    const v0OfWrongLength = bitcoin.address.toBech32(hash.subarray(0, 19), 0, 'bc');
    assert.throws(() => addressToScript({ address: v0OfWrongLength, network: 'mainnet' }), /20 or 32 bytes/);
    assert.throws(() => addressToScript({ address: 'not an address', network: 'mainnet' }), BitcoinAddressError);
    const coreRegtest = p2wpkhAddress({ publicKey: generator, network: 'regtest' });
    assert.throws(() => addressToScript({ address: coreRegtest, network: 'bcoin-regtest' }), BitcoinAddressError);
  });
});

describe('amounts, BIP21 and WIF', () => {
  test('formatBtc is exact on bigint satoshis', () => {
    assert.equal(formatBtc(0n), '0');
    assert.equal(formatBtc(1n), '0.00000001');
    assert.equal(formatBtc(150_000n), '0.0015');
    assert.equal(formatBtc(2_100_000_000_000_000n), '21000000');
    assert.throws(() => formatBtc(-1n), RangeError);
  });

  test('bip21Uri', () => {
    const address = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
    assert.equal(bip21Uri({ address }), `bitcoin:${address}`);
    assert.equal(bip21Uri({ address, amountSat: 5_000_000n, label: 'Deposit #1', message: 'a&b' }), `bitcoin:${address}?amount=0.05&label=Deposit%20%231&message=a%26b`);
  });

  test('WIF round trip; the version byte tells the networks', () => {
    const privateKey = secp256k1.utils.randomSecretKey();
    const wif = encodeWif({ privateKey, network: 'bcoin-regtest' });
    const decoded = decodeWif(wif);
    assert.deepEqual(decoded.networks, ['bcoin-regtest']);
    assert.equal(hex(decoded.privateKey), hex(privateKey));
    assert.deepEqual(decodeWif(encodeWif({ privateKey, network: 'testnet' })).networks, ['testnet', 'regtest']);
    // The WIF of secret key 1, compressed, on mainnet: a widely published value.
    assert.equal(encodeWif({ privateKey: Uint8Array.of(...new Uint8Array(31), 1), network: 'mainnet' }), 'KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn');
    assert.throws(() => decodeWif('5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ'), /compressed/);
  });
});
