// A user-space TCP proxy for the lab (plain JS: it runs inside a namespace through
// `ip netns exec NS node tcp-proxy.mjs LISTEN TARGET DELAY_MS`). LISTEN and TARGET are HOST:PORT
// or unix:PATH; every chunk is held DELAY_MS in each direction: latency without netem. With delay
// 0 over a unix socket (a file: every namespace sees it) it is how the test, outside the
// namespaces, reads the exporter inside one, and how the exporter reaches a loopback service of
// the test (the fake Kubernetes API).
import net from 'node:net';

const [listen, target, delayArg] = process.argv.slice(2);
const delayMs = Number(delayArg ?? 0);
const address = (a) => (a.startsWith('unix:') ? { path: a.slice(5) } : { host: a.replace(/:\d+$/, ''), port: Number(a.split(':').pop()) });

function pipe(from, to) {
  from.on('data', (chunk) => (delayMs > 0 ? setTimeout(() => to.write(chunk), delayMs) : to.write(chunk)));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

const server = net.createServer((client) => {
  const upstream = net.connect(address(target));
  pipe(client, upstream);
  pipe(upstream, client);
});
server.listen(address(listen), () => process.stdout.write(`proxy listening ${listen}\n`));
process.on('SIGTERM', () => process.exit(0));
