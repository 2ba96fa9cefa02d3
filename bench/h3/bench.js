'use strict';
// Points → H3 cells per second with h3-js, on the points that geo's BenchmarkCellAt uses.
//
//   node bench.js            2^20 points, resolution 10, 5 timed rounds after a warm-up
//   POINTS=100000 RES=9 ROUNDS=3 node bench.js
//
// Prints the checksum of the points (it must match the Go benchmark's log line) and the
// rates; the last line is machine-readable: "h3-js <res> <best points/s> <median points/s>".
const { latLngToCell } = require('h3-js');

const N = Number(process.env.POINTS || 1 << 20);
const RES = Number(process.env.RES || 10);
const ROUNDS = Number(process.env.ROUNDS || 5);

// points repeats benchPoints in geo/bench_test.go: a 32-bit LCG
// (x ← 1664525·x + 1013904223 mod 2^32, from x = 1), two draws per point, lon first,
// uniform over 121–122°E × 29–30°N.
function points(n) {
  let x = 1;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
  const lat = new Float64Array(n);
  const lng = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lng[i] = 121 + next();
    lat[i] = 29 + next();
  }
  return { lat, lng };
}

function checksum({ lat, lng }) {
  let s = 0;
  for (let i = 0; i < lat.length; i++) s += lng[i] + lat[i];
  return s;
}

// round converts every point once and returns points per second.
function round({ lat, lng }) {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < lat.length; i++) {
    sink ^= latLngToCell(lat[i], lng[i], RES).charCodeAt(14);
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === -1) console.log('unreachable');
  return (lat.length / ns) * 1e9;
}

const pts = points(N);
console.log(`points: ${N}, checksum ${checksum(pts).toFixed(9)}`);
console.log(`first cell: ${latLngToCell(pts.lat[0], pts.lng[0], RES)} for ${pts.lng[0]},${pts.lat[0]}`);
round(pts); // warm-up: JIT and the h3 module's memory
const rates = [];
for (let r = 0; r < ROUNDS; r++) rates.push(round(pts));
rates.sort((a, b) => a - b);
const best = rates[rates.length - 1];
const median = rates[Math.floor(rates.length / 2)];
console.log(`h3-js latLngToCell res ${RES}: best ${(best / 1e6).toFixed(3)} M points/s, median ${(median / 1e6).toFixed(3)} M points/s (node ${process.version})`);
console.log(`h3-js ${RES} ${best.toFixed(0)} ${median.toFixed(0)}`);
