// One response in flight per connection. Node parses pipelined requests at once and runs every
// handler at once (answers are only written in order), so N pipelined GET /metrics built N
// bodies together. Here a request's handler runs only once the previous response on its
// connection is done, and the connection stops reading meanwhile: pipelined requests cost
// one response at a time, and those not yet read stay in the kernel.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Waiting = Array<[IncomingMessage, ServerResponse]>;

export function inOrder(handle: RequestListener): RequestListener {
  /** Connections with a response in flight -> the requests waiting behind it (null: none ever waited). */
  const busy = new WeakMap<Socket, Waiting | null>();
  const start = (req: IncomingMessage, res: ServerResponse): void => {
    res.once('close', done); // after finish, or when the connection goes: either way the next may run
    void handle(req, res);
  };
  function done(this: ServerResponse): void {
    const socket = this.req.socket;
    const waiting = busy.get(socket);
    const next = waiting?.shift();
    if (next && !socket.destroyed) return start(next[0], next[1]);
    busy.delete(socket); // requests waiting on a closed connection go with it
    if (waiting && !socket.destroyed) socket.resume(); // paused below; Node re-pauses it if it paused it too
  }
  return (req, res) => {
    const socket = req.socket;
    const waiting = busy.get(socket);
    if (waiting === undefined) {
      busy.set(socket, null);
      return start(req, res);
    }
    socket.pause();
    if (waiting === null) busy.set(socket, [[req, res]]);
    else waiting.push([req, res]);
  };
}
