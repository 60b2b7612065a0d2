// Bundles JsSIP (which ships no browser build) for the demo softphone page, and SIP.js
// 0.21 (ES modules only) for the SIP.js demo page: one IIFE each under public/vendor.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const vendor = (name) => new URL(`../apps/gateway/public/vendor/${name}`, import.meta.url).pathname;
await build({
  entryPoints: [require.resolve('jssip/lib/JsSIP.js')],
  bundle: true,
  format: 'iife',
  globalName: 'JsSIP',
  minify: true,
  outfile: vendor('jssip.js'),
  logLevel: 'warning',
});
await build({
  entryPoints: [new URL('../node_modules/sip.js/lib/index.js', import.meta.url).pathname],
  bundle: true,
  format: 'iife',
  globalName: 'SIP',
  minify: true,
  outfile: vendor('sipjs.js'),
  logLevel: 'warning',
});
