import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'recordings/', 'src/asterisk/ari-types.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The browser pages: plain modules run by the browser.
    files: ['web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'location', 'navigator', 'localStorage', 'sessionStorage', 'fetch', 'WebSocket', 'URL',
        'URLSearchParams', 'Blob', 'alert', 'confirm', 'prompt', 'FormData', 'Option', 'CSS', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console', 'Chart', 'Audio', 'Intl'].map((g) => [g, 'readonly'])),
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
