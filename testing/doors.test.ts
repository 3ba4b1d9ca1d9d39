// The rooms' doors are enforced by lint: the project's own ESLint configuration refuses a
// cross-room import of a non-door file, and lets the door itself through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));

async function doorMessages(code: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('lint refuses a cross-room import of furniture and allows the front door', { timeout: 120_000 }, async () => {
  const furniture = await doorMessages("import { LedgerWriter } from '../ledger/writer.ts';\nexport const w = LedgerWriter;\n", 'api/app.ts');
  assert.equal(furniture.length, 1, 'api/ importing ledger/writer.ts is refused');
  assert.match(furniture[0]!, /front door/);
  const nested = await doorMessages("import { settleDeposits } from '../../indexers/core/deposits.ts';\nexport const s = settleDeposits;\n", 'chains/evm/adapter.ts');
  assert.equal(nested.length, 1, 'a nested file reaching into another room is refused too');
  const door = await doorMessages("import { LedgerWriter } from '../ledger/index.ts';\nexport const w = LedgerWriter;\n", 'api/app.ts');
  assert.deepEqual(door, [], 'the door is allowed');
  const ownFurniture = await doorMessages("import { settleDeposits } from '../core/deposits.ts';\nexport const s = settleDeposits;\n", 'indexers/evm/store.ts');
  assert.deepEqual(ownFurniture, [], "a room's own sub-folders are its own business");
});
