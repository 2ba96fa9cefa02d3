// npm run build: bundle src/ into dist/ (assets with content-hashed names, index.html naming
// them) and record the hash of the inputs in dist/inputs.sha256, which the Go test
// TestDistUpToDate recomputes: a change to the sources without a rebuild fails it.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('.', import.meta.url).pathname;
const dist = join(root, 'dist');

// inputsHash: sha256 over "path\0sha256(content)\n" of src/**, build.mjs, package.json and
// package-lock.json, sorted by path (slash-separated, relative to web/).
export function inputsHash() {
  const files = ['build.mjs', 'package.json', 'package-lock.json'];
  const walk = (dir) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = `${dir}/${name}`;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else files.push(rel);
    }
  };
  walk('src');
  files.sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${f}\0${createHash('sha256').update(readFileSync(join(root, f))).digest('hex')}\n`);
  return h.digest('hex');
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(root, 'src/main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'safari15'],
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const outs = Object.keys(result.metafile.outputs).map((p) => relative(join(dist, 'assets'), join(process.cwd(), p)).split(sep).join('/'));
const js = outs.find((p) => p.endsWith('.js'));
const css = outs.find((p) => p.endsWith('.css'));
if (!js || !css) throw new Error(`build: no js or css among ${outs}`);
const html = readFileSync(join(root, 'src/index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css);
writeFileSync(join(dist, 'index.html'), html);
writeFileSync(join(dist, 'inputs.sha256'), `${inputsHash()}\n`);
for (const p of outs) console.log(`dist/assets/${p}\t${result.metafile.outputs[Object.keys(result.metafile.outputs).find((k) => k.endsWith(p))].bytes} bytes`);
