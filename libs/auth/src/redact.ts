// Credentials arrive in the WebSocket URL (`?token=...`, `?username=...&password=...`)
// because a browser cannot set headers on a WebSocket. Anything that logs a URL logs
// it through redactUrl(): the path stays, every query value goes.

/**
 * The URL with each query parameter's value replaced by "…". Names are kept for
 * diagnosis when they look like names; a bare `?<token>` has no name, and goes too.
 */
export function redactUrl(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  const names = query.split('&').filter((p) => p.length > 0).map((p) => {
    const eq = p.indexOf('=');
    const name = eq === -1 ? p : p.slice(0, eq);
    return (eq !== -1 && /^[A-Za-z0-9_.-]{1,32}$/.test(name) ? name : '') + '=…';
  });
  return url.slice(0, q) + (names.length > 0 ? '?' + names.join('&') : '');
}
