import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ChainError, SimulationError } from '../chains/index.ts';
import { DeepReorgError } from '../indexers/index.ts';
import { WalletError } from '../wallets/index.ts';
import { RelayError } from '../relayer/index.ts';
import { domainErrorStatus, statusTable } from './error-codes.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// Edge rooms answer in their own terms (ApiError and PageError carry HTTP statuses, UsageError an
// exit code); devnets/ and testing/ are local chains and harnesses, not the product.
const roomsOutsideTheTable = ['api/', 'web/', 'cli/', 'devnets/', 'testing/'];

/** Every `class X extends YError` in product code: the name and what it extends. */
function productErrorClasses(): { name: string; parent: string; file: string }[] {
  const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file && !file.endsWith('.test.ts') && !file.endsWith('.bench.ts') && !roomsOutsideTheTable.some((room) => file.startsWith(room)));
  return files.flatMap((file) =>
    [...readFileSync(`${root}${file}`, 'utf8').matchAll(/class (\w+) extends (\w*Error)\b/g)].map((match) => ({ name: match[1]!, parent: match[2]!, file })),
  );
}

describe('the error code table', () => {
  it('gives every code of every domain error class a status', () => {
    for (const { errorClass, statuses } of statusTable) {
      assert.ok(errorClass.codes.length > 0, `${errorClass.name} lists no codes`);
      for (const code of errorClass.codes) assert.ok(Object.hasOwn(statuses, code), `${errorClass.name}: code ${code} has no status`);
      assert.deepEqual(Object.keys(statuses).sort(), [...errorClass.codes].sort(), `${errorClass.name}: the table names a code the class does not have`);
    }
  });

  it('holds every error class of the domain rooms (a new class without codes and statuses fails here)', () => {
    const inTable = new Set(statusTable.map((entry) => entry.errorClass.name));
    const found = productErrorClasses();
    assert.ok(found.length >= 25, `the scan found only ${found.length} error classes; is the pattern still right?`);
    const covered = (name: string, seen = new Set<string>()): boolean => {
      if (inTable.has(name)) return true;
      const declared = found.find((entry) => entry.name === name);
      if (!declared || declared.parent === 'Error' || seen.has(name)) return false;
      return covered(declared.parent, seen.add(name));
    };
    const missing = found.filter((entry) => !covered(entry.name)).map((entry) => `${entry.name} (${entry.file})`);
    assert.deepEqual(missing, [], 'error classes with no row in api/error-codes.ts');
  });

  it('keeps HTTP statuses out of the domain rooms', () => {
    for (const { file } of productErrorClasses()) {
      assert.doesNotMatch(readFileSync(`${root}${file}`, 'utf8'), /readonly status: (number|\d{3})/, `${file} declares an HTTP status on an error`);
    }
  });

  it('answers with the nearest class in the table, and nothing for other errors', () => {
    assert.deepEqual(domainErrorStatus(new WalletError('wallet_not_found', 'no wallet')), { status: 404, code: 'wallet_not_found' });
    assert.deepEqual(domainErrorStatus(new RelayError('nonce_used', 'used')), { status: 409, code: 'nonce_used' });
    // Subclasses answer through their parent's row, with their own code.
    assert.deepEqual(domainErrorStatus(new SimulationError('reverts')), { status: 500, code: 'simulation_failed' });
    assert.deepEqual(domainErrorStatus(new DeepReorgError('reorg')), { status: 500, code: 'deep_reorg' });
    assert.deepEqual(domainErrorStatus(new ChainError('unsupported_chain', 'no')), { status: 500, code: 'unsupported_chain' });
    assert.equal(domainErrorStatus(new Error('plain')), undefined);
    assert.equal(domainErrorStatus(Object.assign(new Error('pg'), { code: '22P02' })), undefined);
    assert.equal(domainErrorStatus('not an error'), undefined);
  });
});
