// The original netchecker's server and agent were Go programs logging with glog, and every
// manifest of theirs (kubespray's, the original examples) passes glog's flags. Both our commands
// take them so those manifests start unchanged; they mean nothing here, which is said once.

import type { FlagSpec } from './flags.js';

const NOTE =
  "the original's log flags (-v, -logtostderr, -alsologtostderr) are ignored: netchecker writes JSON lines to stderr at --log-level";
const ignored = { note: NOTE };

export const glogFlags = [
  {
    name: 'v',
    kind: 'number',
    integer: true,
    metavar: 'LEVEL',
    help: "glog's verbosity; ignored, see --log-level.",
    original: () => ignored,
  },
  { name: 'logtostderr', kind: 'bool', help: 'glog: log to stderr; ignored (netchecker always does).', original: () => ignored },
  { name: 'alsologtostderr', kind: 'bool', help: 'glog: log to stderr too; ignored (netchecker always does).', original: () => ignored },
] as const satisfies readonly FlagSpec[];
