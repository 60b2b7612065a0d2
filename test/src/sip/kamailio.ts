// Kamailio as a real SIP proxy in front of the gateway (an edge proxy, the way
// operators deploy one): a config written by the test, run in the foreground with
// its log on stderr, stopped by its process id.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

export interface Kamailio { stop(): Promise<void>; output(): string }

/**
 * A stateful UDP edge proxy on address:port that Record-Routes and relays every
 * out-of-dialog request to `next` (host:port), in-dialog ones by their route set.
 */
export function edgeProxyConfig(address: string, port: number, next: string): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
dns=no
rev_dns=no
listen=udp:${address}:${port}
mpath="${KAMAILIO_MODULES}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "textops.so"

request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (has_totag()) {
		if (loose_route()) { t_relay(); exit; }
		if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
	xlog("L_INFO", "edge: $rm from $si:$sp to ${next}\\n");
	record_route();
	$du = "sip:${next}";
	if (!t_relay()) sl_reply_error();
}
`;
}

/** Starts Kamailio with `config`; resolves once it answers on address:port (an OPTIONS gets some reply). */
export async function startKamailio(config: string, address: string, port: number): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'kamailio-'));
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, config);
  const proc: ChildProcess = spawn('kamailio', ['-DD', '-E', '-f', cfg, '-Y', dir, '-P', join(dir, 'kamailio.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`kamailio exited: ${out.slice(-2000)}`);
    }
    if (await listening(address, port)) return { stop, output: () => out };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`kamailio did not come up: ${out.slice(-2000)}`);
}

/** True once something (Kamailio) holds address:port: binding it ourselves fails. */
function listening(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(true); }); // EADDRINUSE: Kamailio holds it
    s.bind(port, address, () => s.close(() => resolve(false)));
  });
}
