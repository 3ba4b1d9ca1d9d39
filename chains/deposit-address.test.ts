// Deposit addresses through the chain registry: the research vectors
// (../shared/research/near-chain-signatures.md §5.2 live testnet, §5.6 regression) spelled by
// each adapter's codec must be byte-identical to what the signer's own address functions gave.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rootKeys } from '../signer/index.ts';
import { addressNetwork, chainCurve, deriveAddress, depositChains, depositsToAccount, derivedChains } from './deposit-address.ts';
import { chainAdapters } from './registry.ts';

describe('deposit addresses from the chain registry', () => {
  test('keys from the live testnet contract give the published addresses (5.2)', () => {
    const predecessor = 'derivation-test.testnet';
    assert.equal(deriveAddress({ chain: 'ethereum', network: 'testnet', predecessor, path: 'unit-test' }).address, '0x0513cb2E7ED8B3c9A2ac54CDcaCa32520b0B7311');
    assert.equal(deriveAddress({ chain: 'bitcoin', network: 'mainnet', root: rootKeys.testnet.secp256k1, predecessor, path: 'unit-test' }).address, 'bc1qhv3ve430qaw392kmweqa6j98dqrw0l7erk09nd');
    assert.equal(deriveAddress({ chain: 'bitcoin', network: 'testnet', predecessor, path: 'unit-test' }).address, 'tb1qhv3ve430qaw392kmweqa6j98dqrw0l7efs5kg7');
    assert.equal(deriveAddress({ chain: 'solana', network: 'testnet', predecessor, path: 'unit-test' }).address, '49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ');
  });

  test('our regression vectors, testnet and mainnet (5.6)', () => {
    const t = 'user123.app.testnet';
    const ethT = deriveAddress({ chain: 'ethereum', network: 'testnet', predecessor: t, path: 'ethereum-1' });
    assert.equal(ethT.address, '0x1D4394eaa373fB7946C67fFA9f0F14273135AA92');
    assert.equal(ethT.publicKey.length, 130, 'uncompressed SEC1, hex');
    assert.equal(deriveAddress({ chain: 'bitcoin', network: 'testnet', predecessor: t, path: 'bitcoin-1' }).address, 'tb1q4jmln5xym9f0dxcjckcs50h36k5xkarr5dhpcx');
    assert.equal(deriveAddress({ chain: 'bitcoin', network: 'testnet', bitcoinNetwork: 'mainnet', predecessor: t, path: 'bitcoin-1' }).address, 'bc1q4jmln5xym9f0dxcjckcs50h36k5xkarr7tvjr4');
    assert.equal(deriveAddress({ chain: 'ethereum', network: 'testnet', predecessor: t, path: 'bitcoin-1' }).address, '0x5FbB8c3f88c0FA8d089003b053699D033e6CD9C4');
    assert.equal(deriveAddress({ chain: 'solana', network: 'testnet', predecessor: t, path: 'solana-1' }).address, 'DABoDrTEXDm99zJWBzac3JyLgDi8JFoKZ9txQy2GXMVv');

    const m = 'user123.app.near';
    assert.equal(deriveAddress({ chain: 'ethereum', network: 'mainnet', predecessor: m, path: 'ethereum-1' }).address, '0x9f91540f7968Fb4e21281A42e1C6f3E381e8Fa4A');
    assert.equal(deriveAddress({ chain: 'bitcoin', network: 'mainnet', predecessor: m, path: 'bitcoin-1' }).address, 'bc1qanht4nvqamd6g94c9nlcs5zjae3maaazgshv2a');
    assert.equal(deriveAddress({ chain: 'solana', network: 'mainnet', predecessor: m, path: 'solana-1' }).address, 'Bbr9WKuaeMQF1LUVfTZ8SjVP3NY6YKnBJRn9DcjPWSzr');
  });

  test('Bitcoin spells the same key for its own network; the others follow NEAR', () => {
    const derived = deriveAddress({ chain: 'bitcoin', network: 'testnet', bitcoinNetwork: 'regtest', predecessor: 'user123.app.testnet', path: 'bitcoin-1' });
    assert.match(derived.address, /^bcrt1q/);
    assert.equal(derived.address.slice(6, 38), 'tb1q4jmln5xym9f0dxcjckcs50h36k5xkarr5dhpcx'.slice(4, 36));
    assert.equal(derived.addressNetwork, 'regtest');
    assert.equal(derived.network, 'testnet');
    assert.equal(addressNetwork('ethereum', { network: 'mainnet', bitcoinNetwork: 'regtest' }), 'mainnet');
    assert.equal(addressNetwork('bitcoin', { network: 'mainnet' }), 'mainnet');
  });

  test('the deposit chains are the registry, NEAR deposits go to the account itself', () => {
    assert.deepEqual(depositChains, [...chainAdapters().keys()]);
    assert.deepEqual(depositChains, ['ethereum', 'bitcoin', 'solana', 'near'], 'the order users have always seen');
    assert.deepEqual(derivedChains, ['ethereum', 'bitcoin', 'solana']);
    assert.equal(depositsToAccount('near'), true);
    assert.equal(depositsToAccount('solana'), false);
    assert.equal(chainCurve('solana'), 'ed25519');
    assert.equal(chainCurve('bitcoin'), 'secp256k1');
  });

  test('bad input fails with a reason', () => {
    assert.throws(() => deriveAddress({ chain: 'solana', network: 'testnet', root: rootKeys.testnet.secp256k1, predecessor: 'a.near', path: 'x' }), /ed25519 root key/);
    assert.throws(() => deriveAddress({ chain: 'dogecoin', network: 'testnet', predecessor: 'a.near', path: 'x' }), /chain must be one of ethereum, bitcoin, solana$/);
    assert.throws(() => deriveAddress({ chain: 'near', network: 'testnet', predecessor: 'a.near', path: 'x' }), /chain must be one of/);
    assert.throws(() => chainCurve('dogecoin'), /chain must be one of ethereum, bitcoin, solana, near/);
  });
});
