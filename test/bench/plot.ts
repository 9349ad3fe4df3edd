// An SVG line plot of replies/s against offered load, one line per responder.
// Hand-written: a few dozen lines of SVG, where a plotting library would be
// a large dependency for one picture.
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#495057', '#c2255c', '#0b7285'];
const W = 760;
const PLOT_H = 260;
const LEGEND_ROW = 18;

export function svgPlot(title: string, series: Series[]): string {
  // The legend sits under the axes, one row a series: the picture grows with it.
  const M = { left: 70, right: 20, top: 30, bottom: 70 + series.length * LEGEND_ROW };
  const H = M.top + PLOT_H + M.bottom;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.x)) * 1.05;
  const maxY = Math.max(1, ...all.map((p) => p.y)) * 1.1;
  const sx = (x: number) => M.left + (x / maxX) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - (y / maxY) * (H - M.top - M.bottom);
  const ticks = (max: number) => Array.from({ length: 6 }, (_, i) => (max / 5) * i);
  const mpps = (v: number) => `${(v / 1e6).toFixed(2)}M`;
  const px = (v: number) => v.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`,
    ...ticks(maxX).map((t) => `<line x1="${px(sx(t))}" y1="${px(sy(0))}" x2="${px(sx(t))}" y2="${px(sy(maxY))}" stroke="#eee"/><text x="${px(sx(t))}" y="${px(sy(0) + 16)}" text-anchor="middle">${mpps(t)}</text>`),
    ...ticks(maxY).map((t) => `<line x1="${px(sx(0))}" y1="${px(sy(t))}" x2="${px(sx(maxX))}" y2="${px(sy(t))}" stroke="#eee"/><text x="${px(sx(0) - 6)}" y="${px(sy(t) + 4)}" text-anchor="end">${mpps(t)}</text>`),
    `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(maxX)}" y2="${sy(0)}" stroke="black"/><line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(0)}" y2="${sy(maxY)}" stroke="black"/>`,
    `<text x="${(sx(0) + sx(maxX)) / 2}" y="${sy(0) + 34}" text-anchor="middle">offered at the responder (frames/s)</text>`,
    `<text x="16" y="${(sy(0) + sy(maxY)) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(sy(0) + sy(maxY)) / 2})">echo replies/s</text>`,
  ];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = H - M.bottom + 56 + i * LEGEND_ROW;
    parts.push(`<line x1="${M.left}" y1="${ly - 4}" x2="${M.left + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/><text x="${M.left + 30}" y="${ly}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
