// One response in flight per connection. Node parses pipelined requests at once and runs every
// handler at once (answers are only written in order), so N pipelined GET /metrics built N
// bodies together. Here a request's handler runs only once the previous response on its
// connection is done, and the connection stops reading meanwhile: pipelined requests cost
// one response at a time, and those not yet read stay in the kernel.
//
// The same queue places the answer to a parse error: bad bytes inside a request's body are that
// request's error, answered at its turn; bad bytes behind whole requests (pipelined garbage) are
// answered after the responses to them, never inside a streamed body.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Exchange = [IncomingMessage, ServerResponse];

interface Busy {
  current: Exchange;
  /** Requests read while `current` was in flight, in order. */
  waiting: Exchange[];
  /** Paused because requests waited: resumed once none is in flight. */
  paused: boolean;
  /** What to run once nothing is in flight: the answer to a parse error. */
  then?: () => void;
}

export interface InOrder {
  readonly request: RequestListener;
  /** Runs `then` (the answer that ends the connection) at the turn of the bytes that did not parse. */
  onParseError(socket: Socket, then: () => void): void;
}

export function inOrder(handle: RequestListener): InOrder {
  const busy = new WeakMap<Socket, Busy>();
  const start = (state: Busy, exchange: Exchange): void => {
    state.current = exchange;
    exchange[1].once('close', done); // after finish, or when the connection goes: either way the next may run
    void handle(...exchange);
  };
  function done(this: ServerResponse): void {
    const socket = this.req.socket;
    const state = busy.get(socket);
    if (!state) return;
    const next = state.waiting.shift();
    if (next && !socket.destroyed) return start(state, next);
    busy.delete(socket); // requests waiting on a closed connection go with it
    state.then?.();
    // Paused above; Node re-pauses it if it paused it too. Read on after an answered parse error
    // too: the client's end of the connection is what closes it.
    if (state.paused && !socket.destroyed) socket.resume();
  }
  return {
    request: (req, res) => {
      const socket = req.socket;
      const state = busy.get(socket);
      if (!state) {
        const fresh: Busy = { current: [req, res], waiting: [], paused: false };
        busy.set(socket, fresh);
        return start(fresh, [req, res]);
      }
      socket.pause();
      state.paused = true;
      state.waiting.push([req, res]);
    },
    onParseError: (socket, then) => {
      const state = busy.get(socket);
      if (!state) return then();
      // A request whose body did not finish is the one the bad bytes belong to: the answer to
      // the error is its answer. Requests queued behind it were never read.
      const broken = [state.current, ...state.waiting].findIndex(([req]) => !req.complete);
      if (broken === 0 && !state.current[1].headersSent) return then();
      if (broken > 0) state.waiting.splice(broken - 1);
      state.then ??= then;
    },
  };
}
