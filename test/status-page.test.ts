// The status page in a real browser: Debian's chromium driven by puppeteer-core, one browser for
// every subtest. Against a real exporter: real agents (4 nodes, both networks) for the live
// verdict and a killed agent; reports fed through the API for 1,000 nodes and for markup in
// names. Screenshots go to docs/images/ (the README shows them) and must not be blank.
import type { KeyInput, Page } from 'puppeteer-core';
import t from 'tap';
import { launchBrowser, open as openPage, screenshot as shoot } from './helpers/browser.js';
import { spawnCli, type Spawned } from './helpers/cli.js';
import { dualStackReport, FakeClock, postReport, report, startTestExporter } from './helpers/exporter.js';

const browser = await launchBrowser(t);
const open = (t: Parameters<typeof openPage>[1], url: string, scheme?: 'light' | 'dark') => openPage(browser, t, url, scheme);
const screenshot = (page: Page, file: string) => shoot(browser, page, file);

interface PageVerdict {
  status: string;
  message: string;
  failing: string[];
}

const pageVerdict = (page: Page): Promise<PageVerdict> =>
  page.evaluate(() => ({
    status: document.getElementById('verdict')?.dataset.status ?? '',
    message: document.getElementById('message')?.textContent ?? '',
    failing: [...document.querySelectorAll('#failing tbody tr td:first-child')].map((td) => td.textContent ?? ''),
  }));

async function checkVerdict(url: string): Promise<PageVerdict> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  const body = (await res.json()) as { Message: string; Absent: string[] | null; Outdated: string[] | null };
  return { status: String(res.status), message: body.Message, failing: [...(body.Absent ?? []), ...(body.Outdated ?? [])].sort() };
}

/** The state word in a node's pod or host cell. */
const cellState = (page: Page, node: string, column: 2 | 3): Promise<string> =>
  page.evaluate(
    (node, column) => {
      const row = [...document.querySelectorAll<HTMLTableRowElement>('#nodes tbody tr')].find((r) => r.dataset.node === node);
      return row?.querySelector(`td:nth-child(${column}) .state`)?.textContent ?? '';
    },
    node,
    column,
  );

t.test('4 nodes of real agents: the verdict as connectivity_check, a killed agent turns outdated live', async (t) => {
  const interval = 2;
  const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];
  const agents = nodes.flatMap((node, i) => [
    { name: `netchecker-agent-${i + 1}`, node, network: 'pod' },
    { name: `netchecker-agent-hostnet-${i + 1}`, node, network: 'host' },
  ]);
  const ex = await startTestExporter(t, ['--expect', agents.map((a) => a.name).join(','), '--startup-grace', '30', '--log-level', 'warn']);
  const running = new Map<string, Spawned>();
  for (const a of agents) {
    const flags = ['--listen=127.0.0.1:0', '--no-icmp', '--mtu-sizes=', '--dns-server=', '--log-level=warn'];
    running.set(
      a.name,
      spawnCli(t, [
        'agent',
        '--server',
        ex.url,
        '--name',
        a.name,
        '--node',
        a.node,
        '--network',
        a.network,
        '--interval',
        String(interval),
        ...flags,
      ]),
    );
  }
  const { page, problems } = await open(t, `${ex.url}/`);
  // Every agent ok and every node's agents probed on all four paths (a full round after peers are handed out).
  await page.waitForFunction(
    () => document.getElementById('verdict')?.dataset.status === '200' && document.querySelectorAll('#nodes tbody .s-ok').length === 8,
    { timeout: 60_000, polling: 200 },
  );
  await t.resolves(eventuallyLinks(ex.url, 8 * 7), 'every agent probed the 7 others');
  await new Promise((r) => setTimeout(r, interval * 1000)); // one more poll: the page shows the full mesh
  t.same(await pageVerdict(page), await checkVerdict(ex.url), "the verdict is connectivity_check's");
  t.same(await page.$$eval('#nodes tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.node)), nodes, 'one row per node');

  // The matrix by keyboard: focus it, move right, read the cell.
  await page.focus('#matrix');
  await page.keyboard.press('ArrowRight');
  t.match(
    await page.$eval('#cell', (e) => e.textContent),
    /^node-1 \(pod\) → node-2 \(pod\): ok, RTT [\d.]+ ms, 0\/\d+ lost$/,
    'a cell read by keyboard',
  );
  await page.keyboard.press('Tab'); // leave the matrix: no cursor in the screenshot
  const shot = await screenshot(page, 'status-page.png');
  t.ok(
    shot.colours > 50 && shot.inked > 0.05,
    `the screenshot is not blank (${shot.colours} colours, ${(shot.inked * 100).toFixed(1)}% inked)`,
  );

  // Sort and filter.
  await page.click('button[data-sort="node"]');
  t.same(
    await page.$$eval('#nodes tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.node)),
    [...nodes].reverse(),
    'sorted descending',
  );
  await page.type('#filter-name', 'node-3');
  t.same(await page.$$eval('#nodes tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.node)), ['node-3'], 'filtered by name');
  await page.$eval('#filter-name', (e) => {
    (e as HTMLInputElement).value = '';
    e.dispatchEvent(new Event('input'));
  });

  // Kill one agent: its row turns outdated without a reload, within 2 intervals (the verdict's
  // rule) plus the exporter's 1 s tick and two poll periods (interval / 2 each) of the page.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  const killed = running.get('netchecker-agent-2') as Spawned;
  const killedAt = Date.now();
  killed.child.kill('SIGKILL');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll<HTMLTableRowElement>('#nodes tbody tr')]
        .find((r) => r.dataset.node === 'node-2')
        ?.querySelector('td:nth-child(2) .state')
        ?.textContent?.includes('outdated'),
    { timeout: 60_000, polling: 100 },
  );
  const tookMs = Date.now() - killedAt;
  t.ok(tookMs <= (2 * interval + 1 + interval) * 1000 + 1000, `outdated on the page ${tookMs} ms after the kill (interval ${interval} s)`);
  t.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'live: the same page, no reload');
  t.equal(await cellState(page, 'node-2', 3), '✓ ok', 'its host-network agent is still ok');
  await page.waitForFunction(() => document.getElementById('verdict')?.dataset.status === '400', { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 1500)); // a poll after the verdict settles
  const shown = await pageVerdict(page);
  t.same(shown, await checkVerdict(ex.url), "failing: the verdict is still connectivity_check's");
  t.same(shown.failing, ['netchecker-agent-2']);
  t.match(await page.$eval('#changes tbody', (e) => e.textContent), /netchecker-agent-2node-2✓ ok → ✗ outdated/, 'the change is listed');

  t.same(problems, [], 'no console error, page error or failed request');

  // The exporter stops answering: the page says so and keeps its last data.
  await ex.close();
  await page.waitForSelector('#banner:not([hidden])', { timeout: 15_000 });
  t.match(await page.$eval('#banner', (e) => e.textContent), /The exporter is not answering/);
  t.equal(await cellState(page, 'node-2', 2), '✗ outdated', 'the last data stays');
});

/** Waits until the exporter's status has `count` mesh links (bounded only to catch a hang). */
async function eventuallyLinks(url: string, count: number): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    const s = (await (await fetch(`${url}/api/v1/status`)).json()) as { mesh: { links: unknown[] } };
    if (s.mesh.links.length >= count) return;
    if (Date.now() > end) throw new Error(`only ${s.mesh.links.length} of ${count} links`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A report of a simulated agent: 10 peers, all ok except those to `cut` (timeouts) and a few slow or lossy ones. */
function simulated(i: number, network: 'pod' | 'host', count: number, cut: number, wallMs: number): string {
  const node = (k: number): string => `n${String(k).padStart(4, '0')}`;
  const peers = Array.from({ length: 10 }, (_, j) => {
    const k = (i + 1 + j * 97) % count;
    const toNet = j % 2 === 0 ? network : network === 'pod' ? 'host' : 'pod';
    const name = `${toNet === 'pod' ? 'p' : 'h'}-${k}`;
    if (k === cut) return { name, node: node(k), network: toNet, result: 'timeout', sent: 3, lost: 3, rtt_ms: null };
    return {
      name,
      node: node(k),
      network: toNet,
      result: 'ok',
      sent: 3,
      lost: k % 53 === 0 ? 1 : 0,
      rtt_ms: k % 41 === 0 ? 150 : 0.3 + (k % 30),
    };
  });
  return report({
    nodename: node(i),
    network,
    report_interval: 60,
    hostdate: new Date(wallMs).toISOString(),
    peers,
    dns: [
      { server: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', result: i % 250 === 7 ? 'servfail' : 'ok', latency_ms: 1.2 },
    ],
    path_mtu: { exporter: 1500, peers: 1450 },
  });
}

t.test('1,000 simulated nodes: one canvas, cells read by pointer, a screenshot in the dark scheme', async (t) => {
  const count = 1000;
  const cut = 500;
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--log-level', 'warn'], clock);
  const jobs = Array.from({ length: 2 * count }, (_, j) => ({ i: j >> 1, network: j % 2 === 0 ? ('pod' as const) : ('host' as const) }));
  // The cut node's agents reported once, then fell silent (partitioned) for more than 2 intervals;
  // the others report now, through the API, 16 at a time.
  const post = async (queue: typeof jobs): Promise<void> =>
    void (await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let job = queue.pop(); job; job = queue.pop()) {
          const res = await postReport(
            ex.url,
            `${job.network === 'pod' ? 'p' : 'h'}-${job.i}`,
            simulated(job.i, job.network, count, cut, clock.wall),
          );
          if (res.status !== 200) throw new Error(`report ${job.i}: ${res.status} ${await res.text()}`);
        }
      }),
    ));
  await post(jobs.filter((j) => j.i === cut));
  clock.advance(200);
  await post(jobs.filter((j) => j.i !== cut));
  const { page, problems } = await open(t, `${ex.url}/`, 'dark');
  t.equal(await page.$eval('#shown', (e) => e.textContent), `${count} of ${count} nodes, first 200 shown`);
  t.equal(await page.$$eval('#nodes tbody tr[data-node]', (rows) => rows.length), 200, 'the first 200 rows drawn');
  await page.select('#filter-state', 'outdated');
  t.same(
    await page.$$eval('#nodes tbody tr[data-node]', (rows) => rows.map((r) => (r as HTMLElement).dataset.node)),
    [`n0${cut}`],
    'the cut node found by state',
  );
  t.equal(await cellState(page, `n0${cut}`, 2), '✗ outdated');
  await page.select('#filter-state', '');
  // Found and pressed in one step: a live update may rebuild the table between the two.
  await page.$eval('#nodes tbody button', (b) => b.click());
  t.equal(await page.$$eval('#nodes tbody tr[data-node]', (rows) => rows.length), count, 'all rows on request');
  const canvases = await page.$$eval('canvas', (c) => c.map((e) => [e.width, e.height]));
  t.same(canvases, [[count, count]], 'one canvas, a pixel per cell');
  t.ok((await page.$$eval('*', (all) => all.length)) < 30_000, 'no DOM node per cell');

  // The pointer over the cut node's column, on a row whose pod agent probes it over pod->pod.
  const prober = (cut - 1 + count) % count; // probes k = i + 1 as its first peer, same network
  await page.$eval('#matrix', (e, y) => window.scrollBy(0, e.getBoundingClientRect().top + y - 450), prober);
  const box = (await (await page.$('#matrix'))?.boundingBox()) as { x: number; y: number };
  await page.mouse.move(box.x + cut + 0.5, box.y + prober + 0.5);
  // A cell is a pixel here: the pointer lands within one of it (Chrome rounds coordinates).
  t.match(
    await page.$eval('#cell', (e) => e.textContent),
    /^n0(49[89]|50[01]) \(pod\) → n0(499|50[01]) \(pod\): /,
    'the cell under the pointer',
  );
  // The keyboard is exact: 49 x 10 + 9 rows down, 50 x 10 columns right.
  await page.focus('#matrix');
  const press = async (key: KeyInput, times: number, shift = false): Promise<void> => {
    if (shift) await page.keyboard.down('Shift');
    for (let i = 0; i < times; i++) await page.keyboard.press(key);
    if (shift) await page.keyboard.up('Shift');
  };
  await press('Home', 1);
  await press('ArrowDown', 49, true);
  await press('ArrowDown', 9);
  await press('ArrowRight', 50, true);
  t.equal(
    await page.$eval('#cell', (e) => e.textContent),
    `n0${prober} (pod) → n0${cut} (pod): timeout, no RTT, 3/3 lost`,
    "the cut node's cell fails",
  );
  await page.keyboard.press('Tab');
  const shot = await screenshot(page, 'status-page-1000.png');
  t.ok(
    shot.colours > 50 && shot.inked > 0.05,
    `the screenshot is not blank (${shot.colours} colours, ${(shot.inked * 100).toFixed(1)}% inked)`,
  );
  // A status poll that timed out (the page's own 15 s, or the exporter's 408 when this process's
  // event loop, which runs the exporter and drives the browser, stalled past its header timeout on
  // a loaded machine) is the page working, so long as a later poll succeeds. Anything else fails.
  const aborted = (p: string): boolean =>
    /^failed: http:\/\/[^/]+\/api\/v1\/status net::ERR_ABORTED$/.test(p) ||
    /^408: http:\/\/[^/]+\/api\/v1\/status$/.test(p) ||
    p === 'console: Failed to load resource: the server responded with a status of 408 (Request Timeout)';
  t.same(
    problems.filter((p) => !aborted(p)),
    [],
    'no console error, page error or failed request',
  );
  if (problems.some(aborted)) {
    t.comment(`status polls given up by the page: ${problems.filter(aborted).length}`);
    await page.waitForFunction(() => (document.getElementById('banner') as HTMLElement).hidden, { timeout: 60_000 });
    t.pass('and a later poll succeeded: the banner is gone');
  }
});

t.test('markup in names is shown as text and runs nothing', async (t) => {
  const ex = await startTestExporter(t, ['--log-level', 'warn']);
  const markup = '<img src=x onerror="window.pwned=1">';
  const scriptNode = '<script>window.pwned=2</script>';
  const refused = await postReport(ex.url, encodeURIComponent(markup), report());
  t.equal(refused.status, 400, 'an agent name with markup breaks the name rules: refused');
  const peers = [{ name: 'netchecker-agent-b', node: scriptNode, network: 'pod', result: 'ok', sent: 3, lost: 0, rtt_ms: 1 }];
  t.equal(
    (await postReport(ex.url, 'netchecker-agent-a', report({ nodename: markup, network: 'pod', peers }))).status,
    200,
    'a node name with markup is taken (any text)',
  );
  t.equal((await postReport(ex.url, 'netchecker-agent-b', report({ nodename: scriptNode, network: 'pod' }))).status, 200);
  const { page, problems } = await open(t, `${ex.url}/`);
  t.same(await page.$$eval('#nodes tbody th', (ths) => ths.map((th) => th.textContent)), [markup, scriptNode].sort(), 'the names, as text');
  t.equal(await page.$$eval('main img, main script', (e) => e.length), 0, 'no element made from them');
  await page.focus('#matrix');
  await page.keyboard.press('ArrowRight');
  t.equal(
    await page.$eval('#cell', (e) => e.textContent),
    `${[markup, scriptNode].sort()[0]} (pod) → ${[markup, scriptNode].sort()[1]} (pod): ok, RTT 1.00 ms, 0/3 lost`,
  );
  await new Promise((r) => setTimeout(r, 1500)); // a few polls re-render everything
  t.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined, 'no script ran');
  t.same(problems, [], 'no console error, failed request (an <img src=x> would be one) or dialog');
});

t.test('DNS replicas: a table only when the exporter knows replicas, the broken one marked with who fails it', async (t) => {
  const plain = await startTestExporter(t, ['--log-level', 'warn']);
  const none = await open(t, `${plain.url}/`);
  t.equal(await none.page.$eval('#replicas-section', (e) => (e as HTMLElement).hidden), true, 'no replicas: no section');
  const ex = await startTestExporter(t, ['--log-level', 'warn', '--dns-replicas', '10.0.0.11=coredns-a@n1,10.0.0.12=coredns-b@n2']);
  for (const [i, name] of ['netchecker-agent-a', 'netchecker-agent-b', 'netchecker-agent-c'].entries()) {
    const dns_replicas = [
      { address: '10.0.0.11:53', result: 'ok', latency_ms: 2 },
      { address: '10.0.0.12:53', result: i < 2 ? 'dns_servfail' : 'ok', latency_ms: 1 },
    ];
    t.equal((await postReport(ex.url, name, report({ nodename: `n${i + 1}`, network: 'pod', dns_replicas }))).status, 200);
  }
  const { page, problems } = await open(t, `${ex.url}/`);
  const rows = await page.$$eval('#replicas tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  );
  t.same(rows, [
    ['10.0.0.11:53', 'coredns-a', 'n1', '3', '0', '2.0 ms', ''],
    ['10.0.0.12:53', 'coredns-b', 'n2', '1', '✗ 2', '1.0 ms', 'netchecker-agent-a, netchecker-agent-b'],
  ]);
  t.equal(await page.$eval('#replicas tbody tr:nth-child(2) td:nth-child(5)', (td) => td.className), 's-fail');
  t.same(problems, []);
});

t.test('IP families: shown only with a dual-stack agent, the broken family marked with where it fails', async (t) => {
  const plain = await startTestExporter(t, ['--log-level', 'warn']);
  t.equal((await postReport(plain.url, 'netchecker-agent-s', report({ nodename: 'n1', network: 'pod' }))).status, 200);
  const single = await open(t, `${plain.url}/`);
  t.same(
    await single.page.evaluate(() => [document.getElementById('families')?.hidden, document.getElementById('families-col')?.hidden]),
    [true, true],
    'single-stack: no families line, no column',
  );
  t.equal(await single.page.$$eval('#nodes tbody tr:first-child td', (tds) => tds.length), 9, 'and no cell for it');

  const ex = await startTestExporter(t, ['--log-level', 'warn']);
  const names = ['netchecker-agent-1', 'netchecker-agent-2', 'netchecker-agent-3'];
  // IPv6 cut between node-1 and node-2; IPv4 works everywhere.
  for (const [i, name] of names.entries())
    t.equal((await postReport(ex.url, name, dualStackReport(names, i, ['netchecker-agent-1', 'netchecker-agent-2']))).status, 200);
  const { page, problems } = await open(t, `${ex.url}/`);
  t.same(
    await page.$$eval('#families li', (lis) => lis.map((li) => li.textContent)),
    [
      '✓ ipv4 ok every probe over ipv4 of the 3 dual-stack agents answered in their last round',
      '✗ ipv6 failing 2 of 3 dual-stack agents fail over ipv6, between node-1 and node-2',
    ],
    "the verdict names the broken family, as connectivity_check's families",
  );
  t.equal(await page.$eval('#families li[data-family="ipv6"] .state', (e) => e.className), 'state s-fail');
  t.equal(await page.$eval('#families-col', (e) => (e as HTMLElement).hidden), false, 'the IP families column');
  const cells = await page.$$eval('#nodes tbody tr', (rows) =>
    rows.map((r) => [(r as HTMLElement).dataset.node, r.querySelector('td:nth-child(4)')?.textContent]),
  );
  t.same(cells, [
    ['node-1', '✓ ipv4 ✗ ipv6 netchecker-agent-1: over ipv6: reached 1 of 2 peers, reached by 1 of 2 probers; failing with node-2'],
    ['node-2', '✓ ipv4 ✗ ipv6 netchecker-agent-2: over ipv6: reached 1 of 2 peers, reached by 1 of 2 probers; failing with node-1'],
    ['node-3', '✓ ipv4 ✓ ipv6 '],
  ]);
  await page.click('button[data-sort="families"]');
  t.equal(await page.$eval('#nodes tbody tr:first-child', (r) => (r as HTMLElement).dataset.node), 'node-1', 'sorted worst first');
  await page.screenshot({ path: `${process.env.TMPDIR ?? '/tmp'}/status-page-families.png`, fullPage: false });
  t.same(problems, []);
});
