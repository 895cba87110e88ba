// @ts-check
// A TCP forwarder: listens on HOST:PORT and forwards each connection to 127.0.0.1:TARGET_PORT. Lets a
// server that binds one address (moto, MLflow) be reached on the real node's pod bridge as well.
//   node test/testbed/servers/forward.mjs HOST PORT TARGET_PORT
import net from "node:net";

const [host, port, target] = process.argv.slice(2);
if (!host || !port || !target || host === "0.0.0.0" || host === "::") {
  process.stderr.write("usage: forward.mjs HOST PORT TARGET_PORT (a specific address, never 0.0.0.0)\n");
  process.exit(2);
}
net
  .createServer((c) => {
    const u = net.connect(Number(target), "127.0.0.1");
    c.pipe(u).pipe(c);
    const end = () => {
      c.destroy();
      u.destroy();
    };
    c.on("error", end);
    u.on("error", end);
  })
  .listen(Number(port), host, () => process.stderr.write(`forwarding ${host}:${port} -> 127.0.0.1:${target}\n`));
