// Loopback ports for servers started as separate processes (etcd, Prometheus, Alertmanager,
// dnsmasq, an exporter) and for ports that must stay closed. A port found with listen(0) and
// closed again comes from the kernel's ephemeral range, where every outgoing connection also
// takes its local port and every other test's listen(0) its port: with three test files at
// once opening thousands of loopback connections, one of them may take it before the server
// binds it (EADDRINUSE), or listen on a port a test wants refused. So these come from below
// that range, which the kernel never hands out by itself, and are checked free for TCP and UDP.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Above Node's fetch "bad ports" (the highest is 10080) and the well-known services.
const LOWEST = 16_384;

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

const tcpFree = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });

const udpFree = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      try {
        s.close();
      } catch {
        // never bound: nothing to close
      }
      done(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => done(true)));
  });

/** A loopback port nothing uses now (TCP and UDP), outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  if (top - LOWEST < 1000) throw new Error(`the ephemeral port range starts at ${top}: no room below it for test servers`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error(`no free loopback port in ${LOWEST}-${top - 1} after 100 tries`);
}
