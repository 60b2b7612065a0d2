// The configuration of the edge guards (issue 8: flood, scanners, toll fraud) and of
// the SIP timers, kept beside the main schema so each section reads on its own. The
// defaults are what an internet-facing gateway should run with; docs/security.md says
// why each limit answers with the status it does.

import { z } from 'zod';
import { parseCidr, CidrError } from '@trapezoid/auth';

/** An address or CIDR block, checked by the same parser the matchers use. */
export const cidr = z.string().superRefine((text, ctx) => {
  try {
    parseCidr(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof CidrError ? err.message : String(err) });
  }
});

/** A regular expression (matched against a whole dialled number). */
export const pattern = z.string().refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, 'a valid regular expression');

/**
 * SIP User-Agent values of the scanners seen in the wild (case-insensitive substrings):
 * SIPVicious (svmap/svwar/svcrack send "friendly-scanner"; newer builds "sipvicious"),
 * sipcli, VaxSIPUserAgent, sip-scan, iWar, sundayddr, SIVuS, siparmyknife, SIPptk, smap,
 * pplsip, Gulp.
 */
export const SCANNER_USER_AGENTS = [
  'friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent', 'sip-scan', 'iWar', 'sundayddr',
  'SIVuS', 'siparmyknife', 'SIPptk', 'smap', 'pplsip', 'Gulp',
];

/** Per-user limits in users[]; the gateway-wide defaults are in security.calls. */
export const userLimits = {
  dialPatterns: z.array(pattern).min(1).optional()
    .describe('Regular expressions one of which the whole dialled number must match (403 "Dial pattern not allowed"); absent = any routed number.'),
  maxCalls: z.number().int().min(1).optional().describe('Concurrent calls of this user; default security.calls.perUser.'),
  callsPerMinute: z.number().int().min(1).optional().describe('Calls this user may start per minute; default security.calls.perUserPerMinute.'),
};

/** Per-trunk limits in trunks[] (both directions count). */
export const trunkLimits = {
  maxCalls: z.number().int().min(1).optional().describe('Concurrent calls through this trunk, both directions (503 beyond); absent = no limit.'),
  callsPerMinute: z.number().int().min(1).optional().describe('Calls this trunk carries per minute, both directions (503 beyond); absent = no limit.'),
};

export const securitySchema = z.strictObject({
  rateLimit: z.strictObject({
    requests: z.number().int().min(1).default(60)
      .describe('Requests one source address may send per window (every method and transport), counted before any transaction exists (Kamailio pike\'s idea).'),
    window: z.number().positive().default(2).describe('Seconds of that window.'),
    ban: z.number().positive().default(300).describe('Seconds an address that exceeded it is ignored: its requests are dropped unanswered.'),
    exempt: z.array(cidr).default([])
      .describe('Addresses or CIDR blocks never limited (a call centre behind one NAT address); the trunks\' source addresses always are.'),
    tableSize: z.number().int().min(100).default(100_000).describe('Source addresses remembered (counting and banned each); the oldest are forgotten first.'),
  }).prefault({}).describe('Per-address request rate limit and ban.'),
  scanners: z.strictObject({
    userAgents: z.array(z.string().min(1)).default(SCANNER_USER_AGENTS)
      .describe('User-Agent substrings (case-insensitive) of SIP scanners: their requests are dropped unanswered and their address banned for rateLimit.ban seconds.'),
  }).prefault({}).describe('Known SIP scanners.'),
  statelessChallenge: z.boolean().default(true)
    .describe('Over UDP, answer an INVITE or REGISTER without credentials statelessly (RFC 3261 §8.2.7): one 407/401, no transaction, no retransmission.'),
  calls: z.strictObject({
    perUser: z.number().int().min(1).default(4).describe('Concurrent calls per user (403 "Too many concurrent calls" beyond); users[].maxCalls overrides.'),
    perUserPerMinute: z.number().int().min(1).default(20).describe('Calls a user may start per minute (403 "Call rate limit reached" beyond); users[].callsPerMinute overrides.'),
  }).prefault({}).describe('Toll-fraud limits on what clients dial.'),
  maxContactsPerAor: z.number().int().min(1).default(5)
    .describe('Registered contacts per AOR; a REGISTER adding one more is refused 403 "Too many registered contacts" (refreshes always pass).'),
  maxForks: z.number().int().min(1).default(5).describe('Contacts an inbound call rings at once (the most recently registered).'),
}).prefault({}).describe('Edge guards: flood, scanners, toll fraud (docs/security.md).');

export const sipSchema = z.strictObject({
  timers: z.strictObject({
    T1: z.number().int().min(10).default(500).describe('RFC 3261 T1 in ms: round-trip estimate; retransmissions start at T1 and transactions end after 64*T1.'),
    T2: z.number().int().min(10).default(4000).describe('RFC 3261 T2 in ms: longest retransmit interval.'),
    T4: z.number().int().min(10).default(5000).describe('RFC 3261 T4 in ms: how long a message may stay in the network.'),
  }).prefault({}).describe('SIP transaction timers (RFC 3261 §17, Table 4).'),
}).prefault({}).describe('SIP stack settings.');
