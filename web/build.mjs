// Builds the web client into hubsd/web/client/ (or --outdir DIR):
//   index.html            the page (no-cache when served), naming the hashed assets
//   assets/<name>-<hash>.js|.css   immutable, content-hashed
// The output depends only on the sources and the locked packages: no
// timestamps, no absolute paths (tests/web/test_bundle.py rebuilds and compares).
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const at = argv.indexOf("--outdir");
const outdir = resolve(at >= 0 ? argv[at + 1] : join(here, "..", "hubsd", "web", "client"));
const assets = join(outdir, "assets");

rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: { main: "src/main.js", style: "src/style.css" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox115", "safari16"],
  outdir: assets,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  legalComments: "external",
  metafile: true,
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});

const names = {};
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  if (!out.entryPoint) continue;
  names[out.entryPoint] = "/assets/" + basename(file);
}
const page = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("{{script}}", names["src/main.js"])
  .replace("{{style}}", names["src/style.css"]);
writeFileSync(join(outdir, "index.html"), page);
for (const file of Object.keys(result.metafile.outputs)) {
  console.log(relative(outdir, resolve(here, file)));
}
