// Known SIP scanners by their User-Agent (issue 8): SIPVicious sends "friendly-scanner"
// by default, and a handful of other tools announce themselves as plainly. A request
// carrying one is dropped unanswered (an answer tells a scanner a SIP server is here,
// and which users exist) and its source address banned like a flood. Matching is by
// whole product token, case-insensitive, so "smap" does not catch a UA that merely
// contains those letters.

export class ScannerDetector {
  private readonly tokens: Array<{ name: string; re: RegExp }>;

  constructor(userAgents: readonly string[]) {
    this.tokens = userAgents.map((name) => ({
      name,
      re: new RegExp(`(^|[^a-z0-9])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9]|$)`, 'i'),
    }));
  }

  /** The scanner `userAgent` names itself as, or undefined. */
  match(userAgent: string | undefined): string | undefined {
    if (userAgent === undefined || this.tokens.length === 0) return undefined;
    for (const t of this.tokens) if (t.re.test(userAgent)) return t.name;
    return undefined;
  }
}
