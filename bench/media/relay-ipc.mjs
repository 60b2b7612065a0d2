// The control channel every relay process serves to run.mjs: { id, cmd, ...args } in,
// { id, ok, result | error } out, { ready: true } once listening; the relay exits when
// run.mjs goes away.
export function serveRelay(handlers, onDisconnect = () => process.exit(0)) {
  process.on('message', async (m) => {
    try {
      process.send({ id: m.id, ok: true, result: await handlers[m.cmd](m) });
    } catch (err) {
      process.send({ id: m.id, ok: false, error: String(err?.stack ?? err) });
    }
  });
  process.on('disconnect', onDisconnect);
  process.send({ ready: true });
}
