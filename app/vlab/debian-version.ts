// Debian version strings: ordering (dpkg's algorithm, so "6.1.192-3" sorts
// after "6.1.192-1" and "6.12.117-1~deb12u1" before "6.12.117-1") and the
// upstream version inside one ("6.1.192-3" is upstream 6.1.192).

function order(c: string): number {
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's comparison of one upstream or revision part. */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ac = i < a.length && !/\d/.test(a[i]!) ? order(a[i]!) : 0;
      const bc = j < b.length && !/\d/.test(b[j]!) ? order(b[j]!) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /\d/.test(a[i]!) && j < b.length && /\d/.test(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i]!)) return 1;
    if (j < b.length && /\d/.test(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function split(v: string): { epoch: number; upstream: string; revision: string } {
  let rest = v;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** <0, 0, >0 as dpkg --compare-versions a lt/eq/gt b. */
export function compareDebianVersions(a: string, b: string): number {
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return comparePart(x.upstream, y.upstream) || comparePart(x.revision, y.revision);
}

/** "6.1.192-3" → "6.1.192"; "6.12.117-1~deb12u1" → "6.12.117"; "6.1.190+1" (a signed wrapper) → "6.1.190". */
export function upstreamOf(debianVersion: string): string {
  const { upstream } = split(debianVersion);
  return upstream.replace(/[+~].*$/, '');
}

/** "6.1.192" → "6.1": the series that names the linux-source package. */
export function seriesOf(upstream: string): string {
  const m = /^(\d+)\.(\d+)/.exec(upstream);
  return m ? `${m[1]}.${m[2]}` : upstream;
}
