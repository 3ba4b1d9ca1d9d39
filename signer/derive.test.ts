// Test vectors from ../shared/research/near-chain-signatures.md §5: the near/mpc tweak snapshot
// (5.1), keys captured from the live testnet contract by chainsig.js (5.2), and our own
// regression vectors (5.6). Plus the ways bad input must fail. The deposit addresses these keys
// control are checked where keys and chains meet: chains/deposit-address.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bitcoinP2wpkhAddress, compressSecp256k1, DerivationError, derivePublicKey, deriveTweak, formatNajKey, parseRootKey, rootKeys } from './index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('NEAR Chain Signatures derivation', () => {
  test('the tweak reproduces the near/mpc snapshot (5.1)', () => {
    const paths = ['frwewegwegweg', 'fwei2.3f230', 'f23fjwef8232', 'fwefwo23fewfw'];
    const expected: Record<string, string[]> = {
      dwefqwg: ['ad2d6fc1f445a1b43830415e7e6e3d03cd077673047848a085f130c24f53ee00', '5f76eba48a20e3dd355e38f512c142ab8c8da4999f6b32ecd326d227b44ac05a', 'd133f73abcb3c7cb944dcc0dd3bf72dd89fdc3cf988c9f025af571a205c9b730', '3dd0192c45be59eee3dd0ba62776864245f7aac29514314b80baab2057453ec7'],
      qfweqwgwegqw: ['510cd39f09b3c1bdc1fd655ce57ab29eb20dfce647584727fcca0e483163a8d0', '9cf7f40ab14bc5dd6feee48122b3d85f58461bd595e436fac186b8fa384f3048', 'f53f5cb5c6902ee079681013b452f1908922f48fd668ad6ca522bd49842bf72a', '79051ad14a62552ee9da3fb813813a9d2f2fa8e1549e5f4c658254052562e18f'],
      fqwerijqw385: ['f91edb212a03607ab61ce79f54e38901af6d9ff8709593f2d303e590691c26a6', 'dfb60b3ba4348d3d787aa1af912910a4ccc2fb34e92c010fdae6730f4fab0734', '353862e7968f7f058a4f0498afbbcd504b6621690dfb3118878a7a6502e22e0e', 'ac05f6320b0ed20f9f18a3531c571db237f41ab9b31203598bd8239631cb040f'],
      fnwef0942534: ['7571fcaad0445387087ebcde589540e80926cfd08144aa3f45bc78b8683d06c3', '74f118cfd013dc109848cfc5e0f963e1781dcbb095ae6429623007ccf59b6248', '874bdff117d6d90c0eb5cd7a181e7f20d99abfaa04f503e97867ec08f6796f96', '91da4d8973ea3ccaad9c7b71cb81fa512c4cc939c5157cdbf6a9605d3d1ce4a2'],
    };
    for (const [predecessor, tweaks] of Object.entries(expected)) {
      paths.forEach((path, i) => assert.equal(hex(deriveTweak(predecessor, path)), tweaks[i], `${predecessor} ${path}`));
    }
  });

  test('keys match the live testnet contract (5.2)', () => {
    const predecessor = 'derivation-test.testnet';
    assert.equal(hex(deriveTweak(predecessor, 'unit-test')), '7a4d7e6dcdef70e890bc9531c1118224d3efcdfe19491d1ac7b2a8ffaccc42c0');
    const secp = derivePublicKey({ root: rootKeys.testnet.secp256k1, predecessor, path: 'unit-test' });
    assert.equal(formatNajKey(secp.curve, secp.publicKey), 'secp256k1:3b3GS4kaAPvzxFUEYKiMvXeuBzttMZosggT3iAAbyZzAfQc1Dn4eLrDshNGGeKZyfSK7xegjPSq553NXHisMLiyA');
    assert.equal(hex(secp.publicKey), '04816353e4086e2619542c0212e17dc509a0dc9f11e0979371a3413be4e87c962763918b19f371d97de8f7d0cca3da5ff2f49928a914b2aec5c36585cda219c735');
    assert.equal(hex(compressSecp256k1(secp.publicKey)), '03816353e4086e2619542c0212e17dc509a0dc9f11e0979371a3413be4e87c9627');
    const ed = derivePublicKey({ root: rootKeys.testnet.ed25519, predecessor, path: 'unit-test' });
    assert.equal(formatNajKey(ed.curve, ed.publicKey), 'ed25519:49KFz8zeqrPcaSKqLCXtY79zW98ZW6Nd7W8vSsC7FdKJ');
  });

  test('our regression vectors, testnet and mainnet (5.6)', () => {
    const t = 'user123.app.testnet';
    const ethKey = derivePublicKey({ root: rootKeys.testnet.secp256k1, predecessor: t, path: 'ethereum-1' }).publicKey;
    assert.equal(hex(deriveTweak(t, 'ethereum-1')), '97dd75f8ae16b6f8e158aec5fd4fb5b09a8286144152388d2454b918ded0da7e');
    assert.equal(formatNajKey('secp256k1', ethKey), 'secp256k1:3rh8UyNBM6eBX5eUSJ7i17n6qjrJkVBqscn1v7DmVaz59fMZxpQkMp4gayR4rRb16AaUr2MSfd7ZSxnTMbhamuK8');
    assert.equal(bitcoinP2wpkhAddress(ethKey, 'testnet'), 'tb1qn8e97f034udshmps5qjpzphjhhppte235p79n4');
    assert.equal(bitcoinP2wpkhAddress(ethKey, 'mainnet'), 'bc1qn8e97f034udshmps5qjpzphjhhppte23789kgx');

    const btcKey = derivePublicKey({ root: rootKeys.testnet.secp256k1, predecessor: t, path: 'bitcoin-1' }).publicKey;
    assert.equal(hex(deriveTweak(t, 'bitcoin-1')), 'eabce63fefdb7f5d0c444d48bd30987aa889699c56e6b325b1a3f1504adc8b33');
    assert.equal(hex(compressSecp256k1(btcKey)), '0260e1df768ed5f378da15a6925a537d42816aa043ad462fa67f592775e3aca56a');
    assert.equal(bitcoinP2wpkhAddress(btcKey, 'testnet'), 'tb1q4jmln5xym9f0dxcjckcs50h36k5xkarr5dhpcx');
    assert.match(bitcoinP2wpkhAddress(btcKey, 'regtest'), /^bcrt1q4jmln5xym9f0dxcjckcs50h36k5xkarr/);

    assert.equal(hex(deriveTweak('user123.app.near', 'ethereum-1')), 'd525fa9885ce0bbd4c485ad8dec9222988440de058c994ad79260dc993bb1843');
  });

  test('the published roots are valid points; the empty path is a path', () => {
    for (const network of ['testnet', 'mainnet'] as const) {
      assert.equal(parseRootKey(rootKeys[network].secp256k1).curve, 'secp256k1');
      assert.equal(parseRootKey(rootKeys[network].ed25519).curve, 'ed25519');
    }
    assert.equal(hex(parseRootKey(rootKeys.testnet.secp256k1).point), '04a8bb8176747682aab5c681d4ef375ca537023b2b287d8b5f9d89505277a5a291538ef3680882d8fb793a62a5fdb4c6974c7cd8f9eb0b9cbbf659314c30347000');
    assert.notEqual(hex(deriveTweak('alice.near', '')), hex(deriveTweak('alice.near', ' ')));
  });

  test('bad input fails with a reason', () => {
    assert.throws(() => deriveTweak('', 'ethereum-1'), DerivationError);
    assert.throws(() => deriveTweak('Alice.near', 'ethereum-1'), /not a NEAR account id/);
    assert.throws(() => parseRootKey('secp256k1:notbase58!'), DerivationError);
    assert.throws(() => parseRootKey('ed25519:11111111111111111111111111111111'), /low-order point/);
    assert.throws(() => parseRootKey('rsa:abc'), /looks like/);
    const offCurve = `secp256k1:${'2'.repeat(88)}`;
    assert.throws(() => parseRootKey(offCurve), DerivationError);
  });

  test('a tweak at or above the curve order is refused, never reduced', async () => {
    const { secp256k1Tweak } = await import('./derive.ts');
    const n = secp256k1.Point.Fn.ORDER;
    const bytes = Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
    assert.throws(() => secp256k1Tweak(new Uint8Array(bytes)), /curve order/);
    assert.equal(secp256k1Tweak(new Uint8Array(Buffer.from((n - 1n).toString(16).padStart(64, '0'), 'hex'))), n - 1n);
  });
});

describe('root keys by backend', () => {
  test('chain signatures use the published roots unless configured otherwise; the emulator refuses overrides', async () => {
    const { resolveRootKeys } = await import('./index.ts');
    const published = await resolveRootKeys({ backend: 'chain-signatures', nearNetwork: 'mainnet', keystoreDirectory: '/nonexistent' });
    assert.deepEqual(published, { secp256k1: rootKeys.mainnet.secp256k1, ed25519: rootKeys.mainnet.ed25519 });
    const overridden = await resolveRootKeys({ backend: 'chain-signatures', nearNetwork: 'mainnet', keystoreDirectory: '/nonexistent', overrides: { secp256k1: rootKeys.testnet.secp256k1 } });
    assert.equal(overridden.secp256k1, rootKeys.testnet.secp256k1);
    await assert.rejects(resolveRootKeys({ backend: 'chain-signatures', nearNetwork: 'mainnet', keystoreDirectory: '/x', overrides: { secp256k1: rootKeys.testnet.ed25519 } }), /not a secp256k1 key/);
    await assert.rejects(resolveRootKeys({ backend: 'emulator', nearNetwork: 'testnet', keystoreDirectory: '/x', overrides: { ed25519: rootKeys.testnet.ed25519 } }), /emulator uses its own/);
    await assert.rejects(resolveRootKeys({ backend: 'emulator', nearNetwork: 'testnet', keystoreDirectory: '/nonexistent' }), /coffer start. creates it/);
  });
});
