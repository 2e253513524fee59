// Debian's chromium driven by puppeteer-core (no browser download) for the status page tests:
// one browser per test file, pages that record every console error, page error, failed request,
// 4xx/5xx answer and dialog, and screenshots checked to be non-blank by the browser itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Test } from 'tap';

const CHROMIUM = '/usr/bin/chromium';
const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/** The file's browser, closed when the file's tests end. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox; the page is our own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A page at url, with every console error, page error, failed request and 4xx/5xx answer recorded. */
export async function open(
  browser: Browser,
  t: Test,
  url: string,
  scheme: 'light' | 'dark' = 'light',
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  t.teardown(() => page.close());
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()}: ${r.url()}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.setViewport({ width: 1280, height: 900 });
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
  return { page, problems };
}

/**
 * Writes a full-page screenshot and returns how many distinct colours it has and the share of its
 * pixels that differ from the top-left one, decoded by the browser itself (a blank page: 1 and 0).
 */
export async function screenshot(browser: Browser, page: Page, file: string): Promise<{ colours: number; inked: number }> {
  mkdirSync(IMAGES, { recursive: true });
  const png = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
  writeFileSync(`${IMAGES}${file}`, png);
  const blank = await browser.newPage();
  try {
    return await blank.evaluate(async (b64: string) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d') as CanvasRenderingContext2D;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      let inked = 0;
      for (let i = 0; i < d.length; i += 4) {
        const v = ((d[i] as number) << 16) | ((d[i + 1] as number) << 8) | (d[i + 2] as number);
        seen.add(v);
        if (v !== (((d[0] as number) << 16) | ((d[1] as number) << 8) | (d[2] as number))) inked++;
      }
      return { colours: seen.size, inked: inked / (d.length / 4) };
    }, png.toString('base64'));
  } finally {
    await blank.close();
  }
}
