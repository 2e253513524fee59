// Counts a tap run for CI: one test point per top-level test or assertion of each test file,
// and a test file that failed without any failing test point (a crash) counts as one failure.
// CI keeps only the end of a run's output, so each failure is named there, one line each
// (file > subtests > assertion, and where it is), before the single line "N passed, N failed".
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
let passed = 0;
let failed = 0;
const names = []; // subtest names by depth (4 spaces each)
const failedBelow = []; // a failure was printed at this depth since its parent's last result
const failures = [];
lines.forEach((line, i) => {
  const subtest = /^( *)# Subtest: (.*)$/.exec(line);
  if (subtest) {
    const depth = subtest[1].length / 4;
    names.length = depth;
    names[depth] = subtest[2];
    return;
  }
  const point = /^( *)(not )?ok \d+(?: - (.*?))?(?: # time=\S+)?$/.exec(line);
  if (!point) return;
  const depth = point[1].length / 4;
  const notOk = Boolean(point[2]);
  const leaf = !failedBelow[depth + 1];
  failedBelow[depth + 1] = false;
  // Depth 1 holds a file's top-level tests and assertions, deeper ones are inside them; a file
  // (depth 0) counts only when it failed with nothing below failing: a crash or a timeout.
  if (depth === 1) notOk ? failed++ : passed++;
  if (!notOk) return;
  failedBelow[depth] = true;
  if (!leaf) return;
  if (depth === 0) failed++;
  const at = where(i + 1);
  const path = [...names.slice(0, depth), point[3] ?? '(unnamed)'].join(' > ');
  failures.push(`# not ok: ${path}${depth === 0 ? ' (the file failed: a crash or a timeout)' : ''}${at}`);
});

// The place a failing point names in its YAML block, if it has one.
function where(from) {
  if (!/^ *---$/.test(lines[from] ?? '')) return '';
  let file;
  for (let j = from + 1; j < lines.length && !/^ *\.\.\.$/.test(lines[j]); j++) {
    const field = /^ *(fileName|lineNumber): (.*)$/.exec(lines[j]);
    if (field?.[1] === 'fileName') file = field[2];
    else if (field && file) return ` (${file}:${field[2]})`;
  }
  return '';
}

if (passed + failed === 0) failed = 1; // no test ran: that is a failure, not a pass
const shown = 20;
for (const f of failures.slice(0, shown)) console.log(f);
if (failures.length > shown) console.log(`# ... and ${failures.length - shown} more in .tap/last-run.tap`);
console.log(`${passed} passed, ${failed} failed`);
