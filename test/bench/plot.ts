// An SVG line plot of replies/s against offered load, one line per responder
// (or, with Axes, any y against offered load, on a log scale if asked).
// Hand-written: a few dozen lines of SVG, where a plotting library would be
// a large dependency for one picture.
export interface Series {
  name: string;
  points: { x: number; y: number }[];
  /** An index into the palette, so related series can share a colour; default: the series' own index. */
  color?: number;
  dashed?: boolean;
}

export interface Axes {
  y: string;
  logY: boolean;
  formatY: (v: number) => string;
}

const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#495057', '#c2255c', '#0b7285'];
const W = 760;
const PLOT_H = 260;
const LEGEND_ROW = 18;
const mpps = (v: number) => `${(v / 1e6).toFixed(2)}M`;
const REPLIES: Axes = { y: 'echo replies/s', logY: false, formatY: mpps };

/** Where a value sits between the axis' ends, 0..1, and the values to mark on it. */
function scale(values: number[], log: boolean): { at: (v: number) => number; ticks: number[] } {
  if (!log) {
    const max = Math.max(1, ...values) * 1.1;
    return { at: (v) => v / max, ticks: Array.from({ length: 6 }, (_, i) => (max / 5) * i) };
  }
  const lo = Math.floor(Math.log10(Math.max(1e-9, Math.min(...values))));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  return { at: (v) => (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo), ticks };
}

export function svgPlot(title: string, series: Series[], axes: Axes = REPLIES): string {
  // The legend sits under the axes, one row a series: the picture grows with it.
  const M = { left: 70, right: 20, top: 30, bottom: 70 + series.length * LEGEND_ROW };
  const H = M.top + PLOT_H + M.bottom;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!axes.logY || p.y > 0));
  const maxX = Math.max(1, ...all.map((p) => p.x)) * 1.05;
  const ys = scale(
    all.map((p) => p.y),
    axes.logY,
  );
  const sx = (x: number) => M.left + (x / maxX) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - ys.at(y) * (H - M.top - M.bottom);
  const [y0, y1] = [sy(ys.ticks[0]!), sy(ys.ticks.at(-1)!)];
  const xTicks = Array.from({ length: 6 }, (_, i) => (maxX / 5) * i);
  const px = (v: number) => v.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`,
    ...xTicks.map(
      (t) =>
        `<line x1="${px(sx(t))}" y1="${px(y0)}" x2="${px(sx(t))}" y2="${px(y1)}" stroke="#eee"/><text x="${px(sx(t))}" y="${px(y0 + 16)}" text-anchor="middle">${mpps(t)}</text>`,
    ),
    ...ys.ticks.map(
      (t) =>
        `<line x1="${px(sx(0))}" y1="${px(sy(t))}" x2="${px(sx(maxX))}" y2="${px(sy(t))}" stroke="#eee"/><text x="${px(sx(0) - 6)}" y="${px(sy(t) + 4)}" text-anchor="end">${axes.formatY(t)}</text>`,
    ),
    `<line x1="${sx(0)}" y1="${y0}" x2="${sx(maxX)}" y2="${y0}" stroke="black"/><line x1="${sx(0)}" y1="${y0}" x2="${sx(0)}" y2="${y1}" stroke="black"/>`,
    `<text x="${(sx(0) + sx(maxX)) / 2}" y="${y0 + 34}" text-anchor="middle">offered at the responder (frames/s)</text>`,
    `<text x="16" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(y0 + y1) / 2})">${axes.y}</text>`,
  ];
  series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="5 4"' : '';
    const pts = s.points.filter((p) => all.includes(p)).sort((a, b) => a.x - b.x);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = H - M.bottom + 56 + i * LEGEND_ROW;
    parts.push(
      `<line x1="${M.left}" y1="${ly - 4}" x2="${M.left + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/><text x="${M.left + 30}" y="${ly}">${s.name}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
