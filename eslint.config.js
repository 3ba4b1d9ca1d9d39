// Lint rules that catch real mistakes in this codebase: floating promises lose errors,
// and `number` arithmetic on money is banned by review, not by a rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The top-level folders, each one room with one front door. */
const rooms = ['access', 'api', 'bench', 'chains', 'cli', 'contracts', 'credits', 'deploy', 'deposit-views', 'devnets', 'indexers', 'infra', 'jobs', 'ledger', 'migrations', 'relayer', 'remote-signer', 'rotations', 'signer', 'sponsor', 'sweeps', 'testing', 'users', 'wallets', 'web'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'contracts/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test tracks the promises of describe/test itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'before', 'after'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/only-throw-error': 'error',
      'no-console': 'off',
    },
  },
  {
    // Rooms meet at their front doors (STYLE.md): from another room, import its index.ts only.
    // A room's own sub-folders (indexers/evm, chains/evm, devnets/near) are its furniture. Tests,
    // test harnesses (testing/) and benchmarks (`*.bench.ts`, beside the code they measure and run
    // by `coffer bench`) may reach in.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.bench.ts', 'testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${rooms.join('|')})/(?!index\\.ts$)(?!.*\\.bench\\.ts$).+`,
              message: "Import another room through its front door (its index.ts), not its furniture.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'testing/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
