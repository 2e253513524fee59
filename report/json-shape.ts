// The shape of a JSON text, counted before any parse: nesting, arrays, objects and keys, and
// commas, strings skipped; and the original agent's all-zero padding cut from the text. A body of
// millions of values would block the event loop in JSON.parse; a scan of it costs a few ms.
// Pure: no I/O.

import { LIMITS, PHASES } from './schema.js';

/**
 * Arrays, objects and keys the largest valid report holds (address maps, probes with phases, DNS
 * queries, peers, a few fixed fields), doubled for unknown keys the original ignored. JSON.parse of
 * a body of millions of them (e.g. `[[],[],...]` up to --max-body-bytes) blocks the event loop for
 * a good part of a second; counting them first costs one scan of a few ms.
 */
export const MEMBERS_MAX =
  2 *
  (2 * (1 + 2 * LIMITS.interfacesMax) + LIMITS.probesMax * (2 + 11 + PHASES.length) + LIMITS.dnsQueriesMax * 6 + LIMITS.peersMax * 8 + 64);

/**
 * Array entries and object members in all (one per comma, so an empty or one-entry array counts
 * none). Members are bounded above; this bounds what they leave out: long arrays of numbers or
 * strings (`[0,0,...]` of 2 million entries in 4 MiB cost 150 ms to parse). The largest real
 * reports hold far fewer: a 1 MiB hostNetwork report lists about 35,000 addresses, and the
 * original agent's zero padding (up to 65,535 entries) is cut before the scan. 65,536 entries
 * parse in a few ms.
 */
export const VALUES_MAX = 65_536;

/** Where a scan of a JSON text stands; a scan can stop at one offset and go on from another. */
interface Scan {
  depth: number;
  max: number;
  members: number;
  values: number;
  inString: boolean;
}

const newScan = (): Scan => ({ depth: 0, max: 0, members: 0, values: 0, inString: false });

/** Scans text[from, to) on from `s`: nesting, arrays, objects and keys, commas; strings skipped. */
function scan(s: Scan, text: string, from: number, to: number, maxDepth: number, maxMembers: number, maxValues = VALUES_MAX): void {
  let { depth, max, members, values, inString } = s;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if ((++depth > max && (max = depth) > maxDepth) || ++members > maxMembers) break;
    } else if (c === 0x3a) {
      if (++members > maxMembers) break;
    } else if (c === 0x2c) {
      if (++values > maxValues) break;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  Object.assign(s, { depth, max, members, values, inString });
}

/**
 * Deepest nesting, number of arrays, objects and keys, and of commas in a JSON text, counted
 * without parsing (strings skipped); stops early once any passes its bound.
 */
export function jsonShape(
  text: string,
  maxDepth: number,
  maxMembers: number,
  maxValues = Infinity,
): { depth: number; members: number; values: number } {
  const s = newScan();
  scan(s, text, 0, text.length, maxDepth, maxMembers, maxValues);
  return { depth: s.max, members: s.members, values: s.values };
}

export const nestingDepth = (text: string, stopAbove: number): number => jsonShape(text, stopAbove, Infinity).depth;

/*
 * The original agent pads every report with "zero_extender":[0,0,...] (1,500 zeros, 3 KB of its
 * 3.7 KB), which the server drops. Scanning and parsing that array was most of the cost of a
 * report, so a top-level all-zero padding is compared with a string of zeros and cut
 * from the text before the parse. Anything else (other values, other spacing or case, a second
 * padding key) takes the general path, so the result is always what the general path gives.
 */
const PADDING_KEY = '"zero_extender":[';
const ZEROS = '0,'.repeat(65_536);

/** The all-zero padding as [start, end): key, array and one comma, so that the rest is the same object without it. */
function paddingSpan(text: string): [number, number] | null {
  const at = text.indexOf(PADDING_KEY);
  if (at < 1) return null;
  const open = at + PADDING_KEY.length;
  const close = text.indexOf(']', open);
  const n = close - open; // "0" or "0,0,...,0": odd lengths only
  // Equality of two substrings is a memcmp; startsWith compares character by character.
  if (close < 0 || (n > 0 && (n % 2 === 0 || n >= ZEROS.length || text.substring(open, close) !== ZEROS.substring(0, n)))) return null;
  // Only where the cut leaves a body that is valid exactly when the whole one is: in an object
  // that starts the text, between a `{` or `,` and the next key, or after a value and before `}`.
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(close + 1);
  if (text.charCodeAt(0) !== 0x7b) return null;
  if (after === 0x2c && text.charCodeAt(close + 2) === 0x22 && (before === 0x7b || before === 0x2c)) return [at, close + 2];
  if (after === 0x7d && before === 0x2c && VALUE_ENDS.has(text.charCodeAt(at - 2))) return [at - 1, close + 1];
  return null;
}

/** Last characters of a JSON value: a string, an array, an object, true/false, null, a number. */
const VALUE_ENDS = new Set([0x22, 0x5d, 0x7d, 0x65, 0x6c, ...'0123456789'.split('').map((d) => d.charCodeAt(0))]);

/** Arrays, objects, keys and commas of the text (without its padding when it has one) and the text to parse. */
export function shapeOf(text: string): { depth: number; members: number; values: number; json: string; cut: boolean } {
  const s = newScan();
  const span = paddingSpan(text);
  if (span) {
    scan(s, text, 0, span[0], LIMITS.nestingMax, MEMBERS_MAX);
    // The cut must sit between two members of the top-level object, outside any string.
    if (s.depth === 1 && !s.inString) {
      scan(s, text, span[1], text.length, LIMITS.nestingMax, MEMBERS_MAX);
      return { depth: s.max, members: s.members, values: s.values, json: text.slice(0, span[0]) + text.slice(span[1]), cut: true };
    }
    Object.assign(s, newScan());
  }
  scan(s, text, 0, text.length, LIMITS.nestingMax, MEMBERS_MAX);
  return { depth: s.max, members: s.members, values: s.values, json: text, cut: false };
}
