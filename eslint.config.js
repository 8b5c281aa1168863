// ESLint 9 flat config: typescript-eslint's recommended rules without type information (the
// type-aware presets would build a TypeScript program per run and cost tens of seconds on two
// cores; `tsc --noEmit` already runs in `npm test`), and eslint-config-prettier last so no
// stylistic rule ever disagrees with Prettier.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    'dist/',
    'dist-client/',
    'coverage/',
    '**/*.tgz',
    'grafana/',
    'bench-results*.json',
    'npm-shrinkwrap.json',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The code's convention: a leading underscore marks a binding that is unused on purpose
      // (an object rest that omits fields, a callback parameter the signature requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // DESIGN §3: providers/** never imports src/** (the registry in providers/index.ts is the one
    // way in the other direction).
    files: ['providers/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)src/', message: 'providers/** never imports src/** (DESIGN §3).' }] }],
    },
  },
  prettier,
);
