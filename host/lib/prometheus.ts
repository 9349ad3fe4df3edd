// The Prometheus text exposition format (version 0.0.4), written by hand:
// every value we export is read from shared counters at the moment of the
// scrape, so there is no client-side state to keep, only text to write.
// Families in, one text out; each family's HELP and TYPE come first.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string | number>;

export interface Sample {
  /** The family's name, or it with a suffix (_bucket, _sum, _count). */
  name?: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => {
    if (!LABEL.test(k)) throw new Error(`'${k}' is not a Prometheus label name`);
    return `${k}="${escapeLabel(typeof v === 'number' ? number(v) : v)}"`;
  });
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

export function exposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`'${f.name}' is not a Prometheus metric name`);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${s.name ?? f.name}${labelText(s.labels)} ${number(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A histogram's samples from per-bucket counts (not cumulative): bucket i holds
 * the observations in (bounds[i-1], bounds[i]]. The _count is the buckets' sum,
 * so the +Inf bucket and _count always agree, as the format requires.
 */
export function histogramSamples(
  name: string,
  labels: Labels,
  bounds: number[],
  counts: number[],
  sum: number,
): Sample[] {
  const out: Sample[] = [];
  let seen = 0;
  bounds.forEach((le, i) => {
    seen += counts[i] ?? 0;
    out.push({ name: `${name}_bucket`, labels: { ...labels, le }, value: seen });
  });
  out.push({ name: `${name}_bucket`, labels: { ...labels, le: Infinity }, value: seen });
  out.push({ name: `${name}_sum`, labels, value: sum }, { name: `${name}_count`, labels, value: seen });
  return out;
}
