import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.scratch/**', '**/dist/**', '**/node_modules/**', 'test-output/**', 'bench/out/**', 'apps/gateway/public/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly',
        clearInterval: 'readonly', setImmediate: 'readonly', performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  {
    files: ['apps/gateway/public/**/*.js', 'apps/gateway/admin-page/**/*.js', 'test/**/pages/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly',
        URLSearchParams: 'readonly', MediaStream: 'readonly', RTCPeerConnection: 'readonly',
        navigator: 'readonly', JsSIP: 'readonly', SIP: 'readonly',
      },
    },
  },
);
