// Bundles JsSIP (which ships no browser build) for the demo softphone page.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const entry = require.resolve('jssip/lib/JsSIP.js');
await build({
  entryPoints: [entry],
  bundle: true,
  format: 'iife',
  globalName: 'JsSIP',
  minify: true,
  outfile: new URL('../apps/gateway/public/vendor/jssip.js', import.meta.url).pathname,
  logLevel: 'warning',
});
