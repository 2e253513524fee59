// The flag parser as data: what a row accepts (ranges, choices, integers, lists, units) is checked
// with one message style and shown in --help; every command's table is consistent; every flag is
// in the README; a flag's unreadable file stops a command like any other bad flag.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AGENT_FLAGS } from '../agent/config.js';
import { checkFlags } from '../check/main.js';
import { exporterFlags } from '../exporter/config.js';
import { type Command, parseCommand } from '../lib/command.js';
import { FlagError, type FlagSpec, type FlagValues, fileError, flagLabel, helpText, parseFlags } from '../lib/flags.js';
import { localFlags } from '../local/main.js';
import { runCli } from './helpers/cli.js';

const table = [
  { name: 'count', kind: 'number', integer: true, min: 1, max: 10, metavar: 'N', default: 3, help: 'A count.' },
  { name: 'wait', kind: 'number', min: 0.5, unit: 'seconds', help: 'A wait.' },
  { name: 'ratio', kind: 'number', max: 1, help: 'A ratio.' },
  { name: 'level', kind: 'number', integer: true, help: 'A level.' },
  { name: 'color', kind: 'string', choices: ['red', 'green'], default: 'red', env: 'TEST_COLOR', help: 'A color.' },
  { name: 'sizes', kind: 'number', list: true, integer: true, min: 68, max: 9000, unit: 'bytes', default: [1500], help: 'Sizes.' },
  { name: 'tags', kind: 'string', list: true, choices: ['a', 'b'], metavar: 'TAG,...', help: 'Tags.' },
  { name: 'on', kind: 'bool', default: true, help: 'A switch.' },
  {
    name: 'old',
    kind: 'number',
    integer: true,
    min: 0,
    help: 'An original flag.',
    original: (n) => ({ values: { count: Number(n) + 1 } }),
  },
] as const satisfies readonly FlagSpec[];

const values = (argv: string[], env: NodeJS.ProcessEnv = {}): FlagValues<typeof table> | string => {
  const r = parseFlags(table, argv, env);
  if (!r.ok) return r.error;
  if (r.help) return 'help';
  return r.values;
};

t.test('values typed and checked by their rows', async (t) => {
  const v = values([]);
  if (typeof v === 'string') return t.fail(v);
  // The row types the value: no cast between the table and its reader.
  const count: number = v.count;
  const color: 'red' | 'green' = v.color;
  const wait: number | undefined = v.wait;
  const sizes: readonly number[] = v.sizes;
  t.same(
    { count, color, wait, sizes, on: v.on, tags: v.tags },
    { count: 3, color: 'red', wait: undefined, sizes: [1500], on: true, tags: undefined },
    'defaults',
  );
  t.same(values(['--count=10', '--wait', '0.5', '--sizes', '68; 9000', '--tags', 'a,b', '--no-on', '--color', 'green']), {
    count: 10,
    wait: 0.5,
    ratio: undefined,
    level: undefined,
    color: 'green',
    sizes: [68, 9000],
    tags: ['a', 'b'],
    on: false,
  });
  t.same(
    values(['--sizes=', '--tags', '']),
    { count: 3, color: 'red', sizes: [], tags: [], on: true, wait: undefined, ratio: undefined, level: undefined },
    'an empty list',
  );
  t.match(values([], { TEST_COLOR: 'green' }), { color: 'green' }, 'from env');
  t.match(values(['-old', '4']), { count: 5 }, "an original flag's value is checked by its row, then mapped");
});

t.test('one message style for every invalid value', async (t) => {
  const rows: Array<[string[], string]> = [
    [['--count', '0'], '--count must be an integer from 1 to 10, got 0'],
    [['--count', '11'], '--count must be an integer from 1 to 10, got 11'],
    [['--count', '2.5'], '--count must be an integer from 1 to 10, got 2.5'],
    [['--count', 'many'], '--count must be an integer from 1 to 10, got "many"'],
    [['--count', ''], '--count must be an integer from 1 to 10, got ""'],
    [['--wait', '0.4'], '--wait must be a number of at least 0.5, got 0.4'],
    [['--wait', 'Infinity'], '--wait must be a number of at least 0.5, got "Infinity"'],
    [['--ratio', '1.01'], '--ratio must be a number of at most 1, got 1.01'],
    [['--level', '1.5'], '--level must be an integer, got 1.5'],
    [['--color', 'blue'], '--color must be one of red, green, got "blue"'],
    [['--sizes', '1500,67'], '--sizes must be an integer from 68 to 9000, got 67'],
    [['--sizes', '1500,big'], '--sizes must be an integer from 68 to 9000, got "big"'],
    [['--tags', 'a,c'], '--tags must be one of a, b, got "c"'],
    [['--on=maybe'], '--on must be true or false, got "maybe"'],
    [['-old=-1'], '-old must be an integer of at least 0, got -1'],
    [['-old=1', '--count', '2'], 'give either --count or -old, not both'],
    [['--count'], 'flag --count needs a value'],
    [['--colour', 'red'], 'unknown flag "--colour" (see --help)'],
    [['stray'], 'unexpected argument "stray"'],
  ];
  for (const [argv, error] of rows) t.equal(values(argv), error, argv.join(' '));
  t.equal(
    values([], { TEST_COLOR: 'blue' }),
    'TEST_COLOR: --color must be one of red, green, got "blue"',
    'env values are checked, and the variable named',
  );
});

t.test('--help and --version wherever they stand', async (t) => {
  t.same(parseFlags(table, ['--count', '2', '--help']), { ok: true, help: true, version: false });
  t.same(parseFlags(table, ['-version']), { ok: true, help: true, version: true });
});

t.test('--help shows what each flag accepts, its unit, default and env', async (t) => {
  const text = helpText('test [flags]', 'A test.', table);
  const rows: Array<[string, RegExp]> = [
    ['integer range', /--count N\n\s+A count\. \(integer 1 to 10; default 3\)/],
    ['lower bound and unit as the metavar', /--wait SECONDS\n\s+A wait\. \(at least 0\.5 seconds\)/],
    ['upper bound', /--ratio NUMBER\n\s+A ratio\. \(at most 1\)/],
    ['choices as the metavar, env', /--color red\|green\n\s+A color\. \(default red; env TEST_COLOR\)/],
    ['a list of integers with a unit', /--sizes BYTES\n\s+Sizes\. \(integer 68 to 9000 bytes, comma separated; default 1500\)/],
    ['choices behind a metavar', /--tags TAG,\.\.\.\n\s+Tags\. \(each one of a, b\)/],
    ['a switch', /--on\n\s+A switch\. \(default true\)/],
    ['the original apart', /Flags of the original netchecker[^]*-old NUMBER\n\s+An original flag\. \(integer at least 0\)/],
    ['help and version', /--help\n[^]*--version\n\s+Print the version\./],
  ];
  for (const [name, re] of rows) t.match(text, re, name);
});

t.test('a command: what the table cannot say is a FlagError from build, the same one line', async (t) => {
  const command: Command<typeof table, number> = {
    name: 'netchecker test',
    usage: '[flags]',
    summary: 'A test.',
    flags: table,
    build: (v) => {
      if (v.count > 5 && v.color === 'red') throw new FlagError('--count above 5 needs --color green');
      return v.count;
    },
  };
  t.same(parseCommand(command, ['--count', '6'], {}), { ok: false, error: '--count above 5 needs --color green' });
  t.same(parseCommand(command, ['--count', '0'], {}), { ok: false, error: '--count must be an integer from 1 to 10, got 0' });
  t.same(parseCommand(command, ['--count', '6', '--color', 'green'], {}), { ok: true, help: false, config: 6 });
  const dir = mkdtempSync(join(tmpdir(), 'netchecker-flags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let error: FlagError | undefined;
  try {
    readFileSync(join(dir, 'missing'));
  } catch (e) {
    error = fileError('--expect-file', join(dir, 'missing'), e);
  }
  t.equal(error?.message, `--expect-file ${join(dir, 'missing')}: ENOENT`, 'a file that cannot be read: the flag, the path, the reason');
});

const commands: Array<[string, readonly FlagSpec[]]> = [
  ['exporter', exporterFlags],
  ['agent', AGENT_FLAGS],
  ['check', checkFlags],
  ['local', localFlags],
];

t.test("every command's table: defaults its rows accept, names used once", async (t) => {
  const shown = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v));
  for (const [command, flags] of commands) {
    const names = flags.flatMap((f) => [f.name, ...(f.aliases ?? [])]);
    t.same(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      `${command}: no name twice`,
    );
    for (const f of flags) {
      if (f.default === undefined || f.original) continue;
      const r = parseFlags([f], [`--${f.name}=${shown(f.default)}`]);
      t.ok(r.ok, `${command} ${flagLabel(f)}: its default ${shown(f.default)} is accepted${r.ok ? '' : `: ${r.error}`}`);
    }
  }
});

t.test("the README lists every command's flags", async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const [command, flags] of commands) {
    for (const f of flags) t.ok(new RegExp(`\`${flagLabel(f)}[\` ]`).test(readme), `${command} ${flagLabel(f)}`);
  }
});

t.test('the CLI: a bad value and an unreadable flag file alike exit 2 with one line', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['exporter', '--heap-growth', '1.5'], /^netchecker exporter: --heap-growth must be an integer from 0 to 300, got 1\.5$/],
    [['local', '--auth', 'secret'], /^netchecker local: --auth must be one of token, none, got "secret"$/],
    [['check', '--timeout', '0'], /^netchecker check: --timeout must be a number from 0\.1 to 3600, got 0$/],
    [['agent', '--name', 'a', '--mtu-sizes', '1500,9x'], /^netchecker agent: --mtu-sizes must be an integer from 68 to 65535, got "9x"$/],
    [
      ['exporter', '--listen', '127.0.0.1:0', '--expect-file', '/nonexistent/agents'],
      /^netchecker exporter: --expect-file \/nonexistent\/agents: ENOENT$/,
    ],
    [
      ['exporter', '--listen', '127.0.0.1:0', '--kubeconfig', '/nonexistent/kc'],
      /^netchecker exporter: --kubeconfig \/nonexistent\/kc: ENOENT$/,
    ],
    [['agent', '--name', 'a', '--token-file', '/nonexistent/token'], /^netchecker agent: --token-file \/nonexistent\/token: ENOENT$/],
  ];
  for (const [args, re] of rows) {
    const r = await runCli(args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr.trimEnd(), re, args.join(' '));
    t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  }
  const version = await runCli(['agent', '--version']);
  t.same([version.status, version.stdout.trim()], [0, (await import('../lib/version.js')).VERSION], 'every command answers --version');
});
