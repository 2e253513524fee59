// Counts a tap run for CI: one test point per top-level test or assertion of each test file,
// and a test file that failed without any failing test point (a crash) counts as one failure.
// Prints the single line "N passed, N failed".
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
let passed = 0;
let failed = 0;
let fileFailures = 0;
for (const line of lines) {
  const inner = /^ {4}(not )?ok \d+/.exec(line);
  if (inner) {
    if (inner[1]) {
      failed++;
      fileFailures++;
    } else passed++;
    continue;
  }
  const file = /^(not )?ok \d+/.exec(line);
  if (file) {
    if (file[1] && fileFailures === 0) failed++;
    fileFailures = 0;
  }
}
if (passed + failed === 0) failed = 1; // no test ran: that is a failure, not a pass
console.log(`${passed} passed, ${failed} failed`);
