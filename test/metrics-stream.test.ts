// /metrics at a size that takes many socket writes: the exposition is sent in slices as the
// socket takes them (exporter/api/respond.ts sendExposition), with its exact Content-Length, while
// reports keep being answered; a scraper that stops reading or goes away harms nobody.
import t, { type Test } from 'tap';
import { FakeClock, originalReports, postReport, startTestExporter } from './helpers/exporter.js';
import { scrapeHeaders } from './helpers/http-wire.js';

const AGENTS = 1500;

async function populated(t: Test) {
  // A clock that stands still: a scrape that takes over a second on a busy machine must not meet
  // a verdict recomputed (reasons carry ages) between it and the text it is compared with.
  const ex = await startTestExporter(t, ['--log-level', 'debug'], new FakeClock());
  const body = originalReports().find((r) => r.kind === 'hostnet')?.body as Buffer;
  for (let i = 0; i < AGENTS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) => postReport(ex.url, `netchecker-agent-hostnet-${i + k}`, body).then((r) => r.arrayBuffer())),
    );
  }
  await ex.monitor.fresh(Infinity); // the verdict and series with every agent in
  return ex;
}

t.test('a large exposition arrives whole, with its length, grouped by family', async (t) => {
  const ex = await populated(t);
  const res = await fetch(`${ex.url}/metrics`);
  const text = await res.text();
  t.equal(res.status, 200);
  t.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text), 'Content-Length is the body length');
  t.ok(text.length > 4 * 256 * 1024, `several slices (${(text.length / 1e6).toFixed(1)} MB)`);
  t.ok(text.startsWith(ex.monitor.metricsText()), "the agent series first, byte for byte as rendered, then the exporter's own");
  t.match(text, /\nnetchecker_reports_accepted_total 1500\n/);
  const up = text.split('\n').filter((l) => l.startsWith('netchecker_agent_up{'));
  t.equal(up.length, AGENTS, 'one up series per agent');
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
  t.equal(new Set(types).size, types.length, 'each family once: its lines form one group');

  const again = await (await fetch(`${ex.url}/metrics`)).text();
  t.ok(again.startsWith(ex.monitor.metricsText()), 'the next scrape, written from the same reused buffer, is whole too');

  const head = await fetch(`${ex.url}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.ok(Number(head.headers.get('content-length')) > 4 * 256 * 1024, 'HEAD: the length, no body');
  t.equal((await head.arrayBuffer()).byteLength, 0);
});

t.test('a scraper that stops reading blocks neither reports nor other scrapes', async (t) => {
  const ex = await populated(t);
  const stalled = await scrapeHeaders(ex.url);
  t.match(stalled.head, /^HTTP\/1\.1 200 OK/);
  const report = originalReports()[0] as { body: Buffer };
  const answered = await postReport(ex.url, 'netchecker-agent-late', report.body);
  t.equal(answered.status, 200, 'a report is answered while a scraper is not reading');
  await ex.monitor.fresh(Infinity); // at 1,500 agents a report is in the series after a gap, not at once
  const other = await fetch(`${ex.url}/metrics`);
  const text = await other.text();
  t.equal(Number(other.headers.get('content-length')), Buffer.byteLength(text), 'a second scrape arrives whole meanwhile');
  t.match(text, /netchecker_agent_up\{agent="netchecker-agent-late"/);

  // Reading on: the stalled scrape completes with the length it announced.
  const length = Number(/content-length: (\d+)/i.exec(stalled.head)?.[1]);
  const received = await new Promise<number>((resolve) => {
    let n = stalled.bodyBytes;
    stalled.socket.on('data', (c: Buffer) => {
      n += c.length;
      if (n >= length) resolve(n);
    });
    stalled.socket.resume();
  });
  t.equal(received, length, 'the stalled scrape gets every announced byte once read');
  stalled.socket.destroy();
});

t.test('a scraper that goes away mid-body leaves the exporter serving', async (t) => {
  const ex = await populated(t);
  for (let i = 0; i < 5; i++) {
    const gone = await scrapeHeaders(ex.url);
    gone.socket.destroy();
  }
  const res = await fetch(`${ex.url}/metrics`);
  const text = await res.text();
  t.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text), 'the next scrape is whole');
  const report = originalReports()[0] as { body: Buffer };
  t.equal((await postReport(ex.url, 'netchecker-agent-after', report.body)).status, 200);
  t.same(
    ex.logs.filter((l) => l.level === 'error'),
    [],
    'no errors logged',
  );
});
