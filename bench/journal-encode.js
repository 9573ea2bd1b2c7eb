#!/usr/bin/env node
// Cost of encoding one journal line, the largest share of a full simulator
// run beyond the kernel itself (bench/RESULTS.md): JSON.stringify of a real
// action event, as the journal writer does it, against a hand-written encoder
// for the same line, both over the same 200,000 events in one process.
//   node bench/journal-encode.js [repeats, default 5]
const repeats = Number(process.argv[2] ?? 5);
const N = 200_000;
// The shape of a pcm.write line from bench/sim-speed.js's two-stream run.
const events = Array.from({ length: N }, (_, i) => ({ kind: 'act', t: 1011931 + i, dur: 1007226, lane: i & 1 ? 'a' : 'b', iter: 5 + i, step: 0, op: 'pcm.write', ret: 48, handle: i & 1 ? 'a' : 'b', data: { requested: 48 } }));

const quoted = new Map();
const str = (s) => {
  let r = quoted.get(s);
  if (r === undefined) quoted.set(s, (r = JSON.stringify(s)));
  return r;
};
function handWritten(e) {
  let s = '{"kind":"act","t":' + e.t + ',"dur":' + e.dur + ',"lane":' + str(e.lane) + ',"iter":' + e.iter + ',"step":' + e.step + ',"op":' + str(e.op);
  if (e.handle !== undefined) s += ',"handle":' + str(e.handle);
  if (e.args !== undefined) s += ',"args":' + JSON.stringify(e.args);
  s += ',"ret":' + e.ret;
  if (e.errno !== undefined) s += ',"errno":' + str(e.errno);
  if (e.data !== undefined) s += ',"data":' + JSON.stringify(e.data);
  return s + '}\n';
}

function nsPerLine(encode) {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (const e of events) bytes += encode(e).length;
  return { ns: Number(process.hrtime.bigint() - t0) / N, bytes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const a = [];
const b = [];
for (let r = 0; r < repeats; r++) {
  a.push(nsPerLine((e) => JSON.stringify(e) + '\n').ns);
  b.push(nsPerLine(handWritten).ns);
}
console.log(JSON.stringify({ lines: N, repeats, json_stringify_ns_per_line_median: +median(a).toFixed(0), hand_written_ns_per_line_median: +median(b).toFixed(0), ratio: +(median(b) / median(a)).toFixed(2) }));
