// RFC 3339 timestamps (hostdate, agent_started, a stored record's last_updated), read by hand.
// Pure: no I/O.

/** The ASCII digits at [from, from + count) as a number, or -1 if any is not a digit. */
function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days in month `mo` (1-12) of year `y`, leap years by the Gregorian rule (RFC 3339 section 5.7). */
function daysIn(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/**
 * RFC 3339 with 0-9 fractional digits, as Go's time.Time marshals; epoch ms (sub-ms kept).
 * `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)`, T and Z in either case. Read by hand: the
 * regular expression it replaces was the costliest single step of decoding a report.
 * Dates must exist (no Feb 31) and offsets be at most 23:59. Second 60 is refused as Go's
 * time.Parse refuses it (the original server read hostdate with it, and Go never writes one):
 * a leap second cannot be told from a bad clock without a leap second table.
 */
export function rfc3339Ms(s: string): number | null {
  const bad = (): null => null;
  if (s.length < 20 || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || (s.charCodeAt(10) | 0x20) !== 0x74) return bad();
  if (s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) return bad();
  const [y, mo, d, h, mi, sec] = [digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2)];
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return bad();
  let at = 19;
  let fraction = 0;
  if (s.charCodeAt(at) === 0x2e) {
    let end = at + 1;
    while (end < s.length && end - at <= 9 && digits(s, end, 1) >= 0) end++;
    if (end === at + 1) return bad();
    fraction = Number(s.slice(at, end)) * 1000;
    at = end;
  }
  let offsetMin = 0;
  if ((s.charCodeAt(at) | 0x20) === 0x7a) at++;
  else {
    const sign = s.charCodeAt(at) === 0x2d ? -1 : s.charCodeAt(at) === 0x2b ? 1 : 0;
    const oh = digits(s, at + 1, 2);
    const om = digits(s, at + 4, 2);
    if (sign === 0 || oh < 0 || oh > 23 || om < 0 || om > 59 || s.charCodeAt(at + 3) !== 0x3a) return bad();
    offsetMin = sign * (oh * 60 + om);
    at += 6;
  }
  if (at !== s.length) return bad();
  return Date.UTC(y, mo - 1, d, h, mi, sec) + fraction - offsetMin * 60_000;
}
