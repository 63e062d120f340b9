#!/usr/bin/env python3
"""flamegraph.py — folded stacks -> one self-contained, interactive HTML
flame graph (no network, no external JavaScript).

  perf/flamegraph.py in.folded -o out.html --title "ringvpn, TCP 1 stream"

Input lines are "frame;frame;...;leaf COUNT" (perf/stackcollapse.py). In the
page: hover shows the function, its samples and its share of the whole graph
and of the zoomed frame; click zooms into a frame (click a lower frame or
"Reset zoom" to go back); the search box highlights frames matching a regular
expression and reports the share of samples they cover.

Colours: kernel frames ("_[k]") orange, crypto (aes/gcm/EVP/ghash/...) green,
io_uring frames blue, everything else warm red/yellow.
"""
import argparse
import html
import json
import sys


def parse_folded(lines):
    root = {"n": "all", "v": 0, "c": {}}
    bad = 0
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            bad += 1
            continue
        if n <= 0 or not stack:
            bad += 1
            continue
        node = root
        node["v"] += n
        for frame in stack.split(";"):
            child = node["c"].get(frame)
            if child is None:
                child = node["c"][frame] = {"n": frame, "v": 0, "c": {}}
            child["v"] += n
            node = child
    return root, bad


def to_list(node):
    kids = sorted(node["c"].values(), key=lambda k: k["n"])
    out = [node["n"], node["v"]]
    if kids:
        out.append([to_list(k) for k in kids])
    return out


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font: 13px/1.3 sans-serif; margin: 10px; background: #fff; color: #222; }
h1 { font-size: 17px; margin: 0 0 4px 0; }
#bar { margin: 6px 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
#info { font-family: monospace; min-height: 1.3em; white-space: pre; overflow: hidden; }
#chart { width: 100%; position: relative; }
svg { display: block; width: 100%; }
rect { stroke: #fff; stroke-width: 0.5; cursor: pointer; }
rect.dim { opacity: 0.45; }
rect.hit { fill: #e040fb !important; }
text { font: 11px monospace; pointer-events: none; fill: #000; }
#tip { position: fixed; pointer-events: none; background: #ffffe8; border: 1px solid #999;
       padding: 4px 6px; font: 12px monospace; display: none; white-space: pre; z-index: 9; }
.sub { color: #666; }
</style></head><body>
<h1>__TITLE__</h1>
<div class="sub">__SUBTITLE__</div>
<div id="bar">
 <button id="reset">Reset zoom</button>
 <label>Search (regex): <input id="q" size="30"></label>
 <button id="clear">Clear</button>
 <span id="match"></span>
</div>
<div id="info">Hover a frame for details; click to zoom.</div>
<div id="chart"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="tip"></div>
<script>
"use strict";
const RAW = __DATA__;
const ROW = 17, MINPX = 0.3;
function build(a, parent, depth) {
  const n = { name: a[0], v: a[1], parent: parent, depth: depth, kids: [], self: a[1] };
  if (a[2]) for (const k of a[2]) { const c = build(k, n, depth + 1); n.kids.push(c); n.self -= c.v; }
  return n;
}
const root = build(RAW, null, 0);
let maxDepth = 0;
(function walk(n) { if (n.depth > maxDepth) maxDepth = n.depth; n.kids.forEach(walk); })(root);
let zoom = root, re = null;
const svg = document.getElementById("svg"), tip = document.getElementById("tip");
const info = document.getElementById("info");
function hash(s) { let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0; return h; }
function color(name) {
  const h = hash(name), r = (h % 1000) / 1000, r2 = ((h >> 10) % 1000) / 1000;
  if (name.endsWith("_[k]")) return `rgb(${230 + 25 * r | 0},${120 + 60 * r2 | 0},${40 + 20 * r | 0})`;
  if (/aes|gcm|ghash|gfmul|EVP_|chacha|poly1305|aead|seal|open_/i.test(name))
    return `rgb(${80 + 60 * r | 0},${190 + 50 * r2 | 0},${80 + 40 * r | 0})`;
  if (/io_uring|uring|iou_/i.test(name)) return `rgb(${90 + 50 * r | 0},${140 + 50 * r2 | 0},${225 + 30 * r | 0})`;
  if (name === "all") return "rgb(200,200,200)";
  return `rgb(${205 + 50 * r | 0},${80 + 130 * r2 | 0},${40 + 40 * r | 0})`;
}
function pct(a, b) { return b ? (100 * a / b).toFixed(2) + "%" : "-"; }
function esc(s) { return s.replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
function label(n) {
  return `${n.name}\n${n.v} samples, ${pct(n.v, root.v)} of all` +
    (zoom !== root ? `, ${pct(n.v, zoom.v)} of zoomed frame` : "") +
    `\nself: ${n.self} samples (${pct(n.self, root.v)})`;
}
function render() {
  const W = svg.clientWidth || 1200, H = (maxDepth + 1) * ROW + 4;
  svg.setAttribute("height", H);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const parts = [], nodes = [];
  const scale = W / zoom.v;
  // Ancestors of the zoomed frame: full width, dimmed.
  for (let a = zoom.parent; a; a = a.parent) nodes.push([a, 0, W, true]);
  (function lay(n, x) {
    const w = n.v * scale;
    if (w < MINPX) return;
    nodes.push([n, x, w, false]);
    let cx = x;
    for (const k of n.kids) { lay(k, cx); cx += k.v * scale; }
  })(zoom, 0);
  nodes.forEach(([n, x, w, dim], i) => {
    const y = H - (n.depth + 1) * ROW;
    const hit = re && re.test(n.name);
    parts.push(`<g data-i="${i}"><rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(w - 0.5, 0.1).toFixed(2)}" height="${ROW - 1}" fill="${color(n.name)}" class="${dim ? "dim" : ""}${hit ? " hit" : ""}"></rect>`);
    if (w > 28) {
      const chars = Math.floor((w - 6) / 6.7);
      let t = n.name.length > chars ? n.name.slice(0, Math.max(chars - 2, 1)) + ".." : n.name;
      parts.push(`<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${esc(t)}</text>`);
    }
    parts.push("</g>");
  });
  svg.innerHTML = parts.join("");
  svg.onmousemove = ev => {
    const g = ev.target.closest("g"); if (!g) { tip.style.display = "none"; return; }
    const n = nodes[+g.dataset.i][0];
    tip.textContent = label(n); tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
    info.textContent = `${n.name}  (${n.v} samples, ${pct(n.v, root.v)})`;
  };
  svg.onmouseleave = () => { tip.style.display = "none"; };
  svg.onclick = ev => {
    const g = ev.target.closest("g"); if (!g) return;
    zoom = nodes[+g.dataset.i][0]; render();
  };
  updateMatch();
}
function updateMatch() {
  const m = document.getElementById("match");
  if (!re) { m.textContent = ""; return; }
  let total = 0;
  (function walk(n) { if (re.test(n.name)) { total += n.v; return; } n.kids.forEach(walk); })(root);
  m.textContent = `matched ${pct(total, root.v)} of samples`;
}
document.getElementById("reset").onclick = () => { zoom = root; render(); };
document.getElementById("clear").onclick = () => { document.getElementById("q").value = ""; re = null; render(); };
document.getElementById("q").oninput = ev => {
  try { re = ev.target.value ? new RegExp(ev.target.value) : null; } catch (e) { return; }
  render();
};
window.onresize = render;
render();
</script>
</body></html>
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", nargs="?", help="folded stacks (default stdin)")
    ap.add_argument("-o", "--output", help="HTML file (default stdout)")
    ap.add_argument("--title", default="Flame graph")
    ap.add_argument("--subtitle", default="")
    args = ap.parse_args()
    src = open(args.input, errors="replace") if args.input else sys.stdin
    root, bad = parse_folded(src)
    if root["v"] == 0:
        print("flamegraph.py: no samples in the input", file=sys.stderr)
        return 1
    if bad:
        print(f"flamegraph.py: skipped {bad} malformed line(s)", file=sys.stderr)
    sub = args.subtitle or f"{root['v']} samples"
    # "</" must not appear raw inside the <script> element.
    data = json.dumps(to_list(root), separators=(",", ":")).replace("</", "<\\/")
    page = (PAGE.replace("__TITLE__", html.escape(args.title))
            .replace("__SUBTITLE__", html.escape(sub))
            .replace("__DATA__", data))
    if args.output:
        with open(args.output, "w") as f:
            f.write(page)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
