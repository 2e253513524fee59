// The npm package as a user gets it: `npm pack` builds first (prepack), ships a CLI that runs,
// and nothing it cannot run: no bench, alerts generator, dashboards or test code (their
// dependencies are dev-only), a LICENSE, and source maps that carry their sources.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import t from 'tap';
import { copyCheckout, ROOT } from './helpers/checkout.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 << 20, timeout: 300_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

t.test('npm pack: builds first, ships a CLI that runs and nothing it cannot run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clone = join(dir, 'clone');
  copyCheckout(clone);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], clone);
  t.equal(packed.code, 0, `npm pack ${packed.stderr.slice(-500)}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
  if (!info) return void t.fail('npm pack printed no file name');
  t.equal((await run('tar', ['-xzf', join(dir, info.filename), '-C', dir], dir)).code, 0, 'the tarball unpacks');
  const root = join(dir, 'package');
  const files = filesUnder(root).map((f) => relative(root, f));

  t.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('package.json'), 'LICENSE, README.md and package.json');
  t.ok(files.includes(pkg.bin.netchecker as string), `the bin ${pkg.bin.netchecker}`);
  t.same(
    files.filter((f) => /^dist\/(bench|alerts|dashboards|test)\//.test(f)),
    [],
    'no bench, alerts generator, dashboards or test code',
  );
  t.same(
    files.filter((f) => !/^dist\/.*\.js(\.map)?$|^(LICENSE|README\.md|package\.json)$|^ui\/(index\.html|page\.css|icon\.svg)$/.test(f)),
    [],
    'only compiled code, the three files and the status page',
  );
  t.ok(
    ['ui/index.html', 'ui/page.css', 'ui/icon.svg', 'dist/ui/page.js'].every((f) => files.includes(f)),
    'the status page ships whole',
  );

  // Every import of a shipped file resolves inside the package or to a production dependency.
  const unresolved: string[] = [];
  const deps = new Set(Object.keys(pkg.dependencies));
  const builtins = new Set(builtinModules);
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('.')) {
        if (!files.includes(relative(root, resolve(join(root, dirname(file)), spec)))) unresolved.push(`${file}: ${spec}`);
      } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
        if (!deps.has(name)) unresolved.push(`${file}: ${spec} (not a dependency)`);
      }
    }
  }
  t.same(unresolved, [], 'every import resolves inside the package or to a dependency');

  const maps = files.filter((f) => f.endsWith('.js.map'));
  const bare = maps.filter((f) => {
    const map = JSON.parse(readFileSync(join(root, f), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
    return map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((c) => typeof c !== 'string');
  });
  t.same(bare, [], `every source map (${maps.length}) carries its sources`);

  // The CLI runs from the package (its imports were checked against the declared dependencies above).
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const help = await run(process.execPath, [join(root, pkg.bin.netchecker as string), '--help'], root);
  t.equal(help.code, 0, 'netchecker --help runs from the package');
  t.match(help.stdout, /exporter/);
  const check = await run(
    process.execPath,
    [join(root, pkg.bin.netchecker as string), 'check', '--server', 'http://127.0.0.1:1', '--timeout', '1'],
    root,
  );
  t.equal(check.code, 2, 'netchecker check against a closed port: exit 2, no verdict');
});

t.test('the image exposes every port deploy/ serves on', async (t) => {
  const exposed = new Set((/^EXPOSE (.+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '').split(/\s+/));
  const base = join(ROOT, 'deploy', 'base');
  const ports = readdirSync(base).flatMap((f) =>
    [...readFileSync(join(base, f), 'utf8').matchAll(/containerPort: (\d+)/g)].map((m) => m[1] as string),
  );
  t.ok(ports.length >= 3, `deploy/base serves on ${ports.join(', ')}`);
  t.same(
    ports.filter((p) => !exposed.has(p)),
    [],
    'each is in the Dockerfile EXPOSE',
  );
});
