// The two clocks the exporter reads: monotonic milliseconds for ages and deadlines (a wall-clock
// step must not age anything), wall milliseconds only for what is shown or stored as a date.
// Passed in, never read from a global, so tests drive time by hand.

export interface Clock {
  monoMs(): number;
  wallMs(): number;
}

export const systemClock: Clock = { monoMs: () => performance.now(), wallMs: () => Date.now() };
