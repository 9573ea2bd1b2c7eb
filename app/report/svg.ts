// Small static SVG charts for the HTML report: the report must open from a
// file, on any machine, with no script and nothing fetched.
export interface LineSeries {
  label: string;
  colour: string;
  values: (number | null)[];
  /** Draw as bars (counts per bucket) instead of a line. */
  bars?: boolean;
}

export interface Frame {
  width: number;
  height: number;
  title: string;
  xLabel: string;
  yLabel: string;
}

const PAD = { l: 56, r: 12, t: 26, b: 34 };

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round numbers for axis ticks: 1, 2, 5 x 10^n. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  if (a < 0.01) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function frame(f: Frame, xt: { v: number; px: number; label: string }[], yt: { v: number; py: number }[], body: string, legend: { label: string; colour: string }[]): string {
  const { width: w, height: h } = f;
  const grid = yt.map((t) => `<line x1="${PAD.l}" x2="${w - PAD.r}" y1="${t.py}" y2="${t.py}" class="g"/><text x="${PAD.l - 6}" y="${t.py + 4}" text-anchor="end">${fmt(t.v)}</text>`).join('');
  const xs = xt.map((t) => `<line x1="${t.px}" x2="${t.px}" y1="${h - PAD.b}" y2="${h - PAD.b + 4}" class="a"/><text x="${t.px}" y="${h - PAD.b + 16}" text-anchor="middle">${esc(t.label)}</text>`).join('');
  let lx = PAD.l + 4;
  const leg = legend
    .map((l) => {
      const s = `<rect x="${lx}" y="${PAD.t - 15}" width="10" height="10" fill="${l.colour}"/><text x="${lx + 14}" y="${PAD.t - 6}">${esc(l.label)}</text>`;
      lx += 24 + l.label.length * 6.5;
      return s;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(f.title)}" class="chart">` +
    `<text x="${w - PAD.r}" y="14" text-anchor="end" class="t">${esc(f.title)}</text>${leg}${grid}` +
    `<line x1="${PAD.l}" x2="${w - PAD.r}" y1="${h - PAD.b}" y2="${h - PAD.b}" class="a"/>${xs}${body}` +
    `<text x="${(PAD.l + w - PAD.r) / 2}" y="${h - 4}" text-anchor="middle" class="l">${esc(f.xLabel)}</text>` +
    `<text x="12" y="${(PAD.t + h - PAD.b) / 2}" text-anchor="middle" class="l" transform="rotate(-90 12 ${(PAD.t + h - PAD.b) / 2})">${esc(f.yLabel)}</text></svg>`
  );
}

/** Series over time buckets; x are bucket centres in seconds. */
export function timeChart(f: Frame, x: number[], series: LineSeries[], bucketS: number): string {
  const { width: w, height: h } = f;
  const x0 = 0;
  const x1 = x.length ? x[x.length - 1]! + bucketS / 2 : 1;
  let yMax = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > yMax) yMax = v;
  if (yMax === 0) yMax = 1;
  const yt = ticks(0, yMax * 1.05);
  const top = Math.max(yt[yt.length - 1]!, yMax);
  const px = (v: number) => PAD.l + ((v - x0) / (x1 - x0 || 1)) * (w - PAD.l - PAD.r);
  const py = (v: number) => h - PAD.b - (v / top) * (h - PAD.t - PAD.b);
  const unit = x1 < 1e-3 ? { k: 1e6, s: 'us' } : x1 < 1 ? { k: 1e3, s: 'ms' } : { k: 1, s: 's' };
  const xt = ticks(x0 * unit.k, x1 * unit.k).map((v) => ({ v, px: px(v / unit.k), label: `${fmt(v)} ${unit.s}` }));
  const bw = Math.max(1, px(bucketS) - px(0));
  let body = '';
  for (const s of series) {
    if (s.bars) {
      body += s.values.map((v, i) => (v ? `<rect x="${(px(x[i]!) - bw / 2).toFixed(1)}" y="${py(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(h - PAD.b - py(v)).toFixed(1)}" fill="${s.colour}"/>` : '')).join('');
    } else {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${px(x[i]!).toFixed(1)},${py(v).toFixed(1)}`;
        pen = true;
      });
      body += `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`;
    }
  }
  if (!x.length) body += `<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="l">no data</text>`;
  return frame(f, xt, yt.map((v) => ({ v, py: py(v) })), body, series.map((s) => ({ label: s.label, colour: s.colour })));
}

/** Histogram over log-spaced bins (lo, hi in ns). */
export function histogramChart(f: Frame, series: { label: string; colour: string; bins: { lo: number; hi: number; n: number }[] }[]): string {
  const { width: w, height: h } = f;
  const all = series.flatMap((s) => s.bins);
  if (!all.length) return frame(f, [], [{ v: 0, py: h - PAD.b }], `<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="l">no samples</text>`, []);
  const lo = Math.max(1, Math.min(...all.map((b) => b.lo || b.hi / 2)));
  const hi = Math.max(...all.map((b) => b.hi));
  const nMax = Math.max(...all.map((b) => b.n));
  const lx = (v: number) => PAD.l + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * (w - PAD.l - PAD.r);
  const yt = ticks(0, nMax * 1.05);
  const top = Math.max(yt[yt.length - 1]!, nMax);
  const py = (v: number) => h - PAD.b - (v / top) * (h - PAD.t - PAD.b);
  const xt: { v: number; px: number; label: string }[] = [];
  for (let d = Math.ceil(Math.log10(lo)); d <= Math.log10(hi); d++) {
    const v = 10 ** d;
    xt.push({ v, px: lx(v), label: v >= 1e9 ? `${v / 1e9} s` : v >= 1e6 ? `${v / 1e6} ms` : v >= 1e3 ? `${v / 1e3} us` : `${v} ns` });
  }
  let body = '';
  series.forEach((s, k) => {
    const op = series.length > 1 ? 0.75 : 1;
    body += s.bins
      .filter((b) => b.n)
      .map((b) => {
        const x = lx(b.lo || lo);
        const bw = Math.max(1, lx(b.hi) - x - 1);
        return `<rect x="${x.toFixed(1)}" y="${py(b.n).toFixed(1)}" width="${bw.toFixed(1)}" height="${(h - PAD.b - py(b.n)).toFixed(1)}" fill="${s.colour}" fill-opacity="${op}" data-k="${k}"/>`;
      })
      .join('');
  });
  return frame(f, xt, yt.map((v) => ({ v, py: py(v) })), body, series.map((s) => ({ label: s.label, colour: s.colour })));
}

/** Kernel-log lines as dots: x time, y printk level (0 at the top), coloured by level. */
export function klogChart(f: Frame, lines: { t: number; level: number; colour: string }[], x1ns: number): string {
  const { width: w, height: h } = f;
  const x1 = Math.max(x1ns, 1) / 1e9;
  const px = (s: number) => PAD.l + (s / x1) * (w - PAD.l - PAD.r);
  const py = (lvl: number) => PAD.t + (lvl / 7) * (h - PAD.t - PAD.b);
  const unit = x1 < 1e-3 ? { k: 1e6, s: 'us' } : x1 < 1 ? { k: 1e3, s: 'ms' } : { k: 1, s: 's' };
  const xt = ticks(0, x1 * unit.k).map((v) => ({ v, px: px(v / unit.k), label: `${fmt(v)} ${unit.s}` }));
  const levels = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
  const yl = levels.map((n, i) => `<text x="${PAD.l - 6}" y="${py(i) + 4}" text-anchor="end">${n}</text><line x1="${PAD.l}" x2="${w - PAD.r}" y1="${py(i)}" y2="${py(i)}" class="g"/>`).join('');
  const seen = new Set<string>();
  let body = yl;
  for (const l of lines) {
    const key = `${Math.round(px(l.t / 1e9))},${l.level}`;
    if (seen.has(key)) continue;
    seen.add(key);
    body += `<circle cx="${px(l.t / 1e9).toFixed(1)}" cy="${py(l.level).toFixed(1)}" r="3.5" fill="${l.colour}"/>`;
  }
  if (!lines.length) body += `<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="l">no kernel log lines</text>`;
  return frame(f, xt, [], body, []);
}
