// The reachability matrix: node x node for one path (pod->pod, ...), rows probing columns, drawn
// on one canvas (1,000 nodes are 10^6 cells: no DOM node per cell). A cell's detail is text in a
// live region, for the cell under the pointer or the keyboard cursor (arrow keys).

import type { StatusBody } from '../exporter/status/status.js';
import { byId, el } from './dom.js';

type Mesh = StatusBody['mesh'];

/** Cell classes, worst last: when several agents of a node probe the same peer, the worst shows. */
const CLASSES = [
  { cls: 'nodata', text: 'no data' },
  { cls: 'ok', text: 'ok, RTT < 10 ms' },
  { cls: 'slow', text: 'ok, RTT 10-100 ms' },
  { cls: 'vslow', text: 'ok, RTT ≥ 100 ms' },
  { cls: 'loss', text: 'answered with loss' },
  { cls: 'fail', text: '✗ unreachable' },
] as const;

const COLOUR_VARS = ['--nodata', '--ok', '--wait', '--slow', '--warn', '--fail'];

function classOf(result: string, rtt: number | null, lost: number): number {
  if (result !== 'ok') return 5;
  if (lost > 0) return 4;
  if (rtt === null || rtt < 10) return 1;
  return rtt < 100 ? 2 : 3;
}

export class Matrix {
  readonly #canvas = byId<HTMLCanvasElement>('matrix');
  readonly #detail = byId('cell');
  #mesh: Mesh = { nodes: [], paths: [], results: [], links: [] };
  #order: string[] = [];
  #path = 0;
  /** Per cell (row * n + column) of the shown path: its class and the link shown (-1: none). */
  #cls = new Uint8Array(0);
  #link = new Int32Array(0);
  #cellPx = 1;
  #margin = 0;
  #cursor: { row: number; col: number } | null = null;

  constructor(paths: readonly string[]) {
    const group = byId('paths');
    paths.forEach((p, i) => {
      const b = el('button', { type: 'button', role: 'radio', 'aria-checked': String(i === 0) }, p);
      b.addEventListener('click', () => {
        this.#path = i;
        for (const o of group.children) o.setAttribute('aria-checked', String(o === b));
        this.#build();
      });
      group.append(b);
    });
    byId('legend').replaceChildren(
      ...CLASSES.map((c) => el('li', {}, el('span', { class: `swatch bg-${c.cls}`, 'aria-hidden': 'true' }), c.text)),
    );
    this.#canvas.addEventListener('mousemove', (e) => {
      const r = this.#canvas.getBoundingClientRect();
      const cell = this.#at(e.clientX - r.left, e.clientY - r.top);
      if (cell) this.#show(cell.row, cell.col);
    });
    this.#canvas.addEventListener('keydown', (e) => this.#key(e));
    this.#canvas.addEventListener('focus', () => {
      if (!this.#cursor && this.#order.length) this.#cursor = { row: 0, col: 0 };
      this.#draw();
      if (this.#cursor) this.#show(this.#cursor.row, this.#cursor.col);
    });
    this.#canvas.addEventListener('blur', () => this.#draw());
  }

  /** New data; `nodes` fixes the axis order (the node table's); peers' nodes not in it follow. */
  update(mesh: Mesh, nodes: readonly string[]): void {
    this.#mesh = mesh;
    const seen = new Set(nodes);
    const linked = new Set<number>();
    for (const l of mesh.links) linked.add(l[1] as number);
    this.#order = [...nodes, ...mesh.nodes.filter((n, i) => linked.has(i) && !seen.has(n))];
    this.#build();
  }

  #build(): void {
    const n = this.#order.length;
    const index = new Map(this.#order.map((name, i) => [name, i]));
    const meshIndex = this.#mesh.nodes.map((name) => index.get(name) ?? -1);
    this.#cls = new Uint8Array(n * n);
    this.#link = new Int32Array(n * n).fill(-1);
    const { links, results } = this.#mesh;
    for (let i = 0; i < links.length; i++) {
      const [from, to, path, result, rtt, , lost] = links[i] as number[];
      if (path !== this.#path) continue;
      const cell = (meshIndex[from as number] as number) * n + (meshIndex[to as number] as number);
      const c = classOf(results[result as number] ?? '', rtt ?? null, lost ?? 0);
      if (c >= (this.#cls[cell] as number)) {
        this.#cls[cell] = c;
        this.#link[cell] = i;
      }
    }
    this.#cellPx = Math.max(1, Math.min(24, Math.floor(900 / Math.max(1, n))));
    this.#margin = this.#cellPx >= 10 ? 110 : 0;
    if (this.#cursor && (this.#cursor.row >= n || this.#cursor.col >= n)) this.#cursor = null;
    this.#draw();
    if (this.#cursor) this.#show(this.#cursor.row, this.#cursor.col);
  }

  #draw(): void {
    const n = this.#order.length;
    const px = this.#cellPx;
    const m = this.#margin;
    const size = m + n * px;
    if (this.#canvas.width !== size || this.#canvas.height !== size) {
      this.#canvas.width = size;
      this.#canvas.height = size;
    }
    const ctx = this.#canvas.getContext('2d');
    if (!ctx) return;
    const style = getComputedStyle(document.documentElement);
    const colours = COLOUR_VARS.map((v) => style.getPropertyValue(v).trim());
    ctx.fillStyle = style.getPropertyValue('--bg').trim();
    ctx.fillRect(0, 0, size, size);
    // One fillRect per run of equal cells in a row: at 1,000 nodes mostly "no data" runs.
    for (let r = 0; r < n; r++) {
      let start = 0;
      for (let c = 1; c <= n; c++) {
        if (c < n && this.#cls[r * n + c] === this.#cls[r * n + start]) continue;
        ctx.fillStyle = colours[this.#cls[r * n + start] as number] as string;
        ctx.fillRect(m + start * px, m + r * px, (c - start) * px - (px >= 4 ? 1 : 0), px - (px >= 4 ? 1 : 0));
        start = c;
      }
    }
    // Tiny cells: failures and loss get a 3 px mark on top, or one bad pair among 10^6 would not show.
    if (px < 3) {
      for (let cell = 0; cell < n * n; cell++) {
        const c = this.#cls[cell] as number;
        if (c < 4) continue;
        ctx.fillStyle = colours[c] as string;
        ctx.fillRect(m + (cell % n) * px - 1, m + Math.floor(cell / n) * px - 1, 3, 3);
      }
    }
    if (px >= 10) this.#labels(ctx, style.getPropertyValue('--fg').trim());
    if (this.#cursor && document.activeElement === this.#canvas) {
      ctx.strokeStyle = style.getPropertyValue('--focus').trim();
      ctx.lineWidth = 2;
      ctx.strokeRect(m + this.#cursor.col * px - 1, m + this.#cursor.row * px - 1, px + 1, px + 1);
    }
  }

  /** Node names on both axes and a cross on unreachable cells, when cells are big enough. */
  #labels(ctx: CanvasRenderingContext2D, fg: string): void {
    const n = this.#order.length;
    const px = this.#cellPx;
    const m = this.#margin;
    ctx.fillStyle = fg;
    ctx.font = `${Math.min(12, px)}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    const short = (s: string): string => (s.length > 16 ? `${s.slice(0, 15)}…` : s);
    for (let i = 0; i < n; i++) {
      const name = short(this.#order[i] as string);
      ctx.textAlign = 'right';
      ctx.fillText(name, m - 4, m + i * px + px / 2, m - 6);
      ctx.save();
      ctx.translate(m + i * px + px / 2, m - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(name, 0, 0, m - 6);
      ctx.restore();
    }
    ctx.textAlign = 'center';
    ctx.fillStyle = '#000';
    for (let cell = 0; cell < n * n; cell++) {
      if (this.#cls[cell] === 5) ctx.fillText('✗', m + (cell % n) * px + px / 2, m + Math.floor(cell / n) * px + px / 2);
    }
  }

  #at(x: number, y: number): { row: number; col: number } | null {
    const col = Math.floor((x - this.#margin) / this.#cellPx);
    const row = Math.floor((y - this.#margin) / this.#cellPx);
    const n = this.#order.length;
    return row >= 0 && col >= 0 && row < n && col < n ? { row, col } : null;
  }

  #key(e: KeyboardEvent): void {
    const n = this.#order.length;
    if (!n) return;
    const c = this.#cursor ?? { row: 0, col: 0 };
    const step = e.shiftKey ? 10 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-step, 0],
      ArrowDown: [step, 0],
      ArrowLeft: [0, -step],
      ArrowRight: [0, step],
      Home: [-n, -n],
      End: [n, n],
    };
    const mv = moves[e.key];
    if (!mv) return;
    e.preventDefault();
    this.#cursor = { row: Math.min(n - 1, Math.max(0, c.row + mv[0])), col: Math.min(n - 1, Math.max(0, c.col + mv[1])) };
    this.#draw();
    this.#show(this.#cursor.row, this.#cursor.col);
  }

  #show(row: number, col: number): void {
    const n = this.#order.length;
    const path = this.#mesh.paths[this.#path] ?? '';
    const [fromNet, toNet] = path.split('->');
    const head = `${this.#order[row]} (${fromNet}) → ${this.#order[col]} (${toNet}): `;
    const i = this.#link[row * n + col] as number;
    const link = i >= 0 ? (this.#mesh.links[i] as number[]) : null;
    if (!link) {
      this.#detail.textContent = `${head}no data (not probed, or the prober has no fresh report)`;
      return;
    }
    const [, , , result, rtt, sent, lost] = link;
    const rttText = rtt === null || rtt === undefined ? 'no RTT' : `RTT ${rtt.toFixed(2)} ms`;
    this.#detail.textContent = `${head}${this.#mesh.results[result as number]}, ${rttText}, ${lost}/${sent} lost`;
  }
}
