(function () {
"use strict";
var meta = JSON.parse(document.getElementById("fv-meta").textContent);
var TYPES = {f4: Float32Array, u4: Uint32Array, u2: Uint16Array, u1: Uint8Array}, decoded = {};
function arr(ref) {                               // a base64 block of the page as a typed array, decoded once, on first use
  if (!ref) return null;
  if (!decoded[ref.id]) {
    var s = atob(document.getElementById(ref.id).textContent.trim()), u = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    var a = new TYPES[ref.dtype](u.buffer);
    if (a.length !== ref.length) throw new Error("featviz explorer: block " + ref.id + " holds " + a.length + " values, expected " + ref.length);
    decoded[ref.id] = a;
  }
  return decoded[ref.id];
}
var n = meta.n, K = meta.classes.length, labels = arr(meta.labels), tiles = meta.tiles;
var colours = meta.colours, packed = colours.map(function (h) {
  var v = parseInt(h.slice(1), 16); return (0xff000000 | ((v & 255) << 16) | (v & 0xff00) | (v >> 16)) >>> 0; });
var FAINT = 0xffe4e4e4 >>> 0;
var $ = function (id) { return document.getElementById(id); };
var main = $("fv-main"), base = $("fv-base"), over = $("fv-overlay"), bctx = base.getContext("2d"), octx = over.getContext("2d");
var tip = $("fv-tip"), tipImg = tip.querySelector("canvas"), tipText = tip.querySelector("div");
var st = {layer: 0, s: 1, tx: 0, ty: 0, fit: 1, hovered: -1, selected: -1, subset: "all", thumbs: true, classOn: new Uint8Array(K).fill(1)};
var W = 0, H = 0, dpr = 1, img = null, buf = null, vis = new Uint8Array(n), sx = new Float32Array(n), sy = new Float32Array(n);
var grid = null, CELL = 8, lastDraw = 0, thumbPx = 0, pending = false, shown = 0;
var order = new Uint32Array(n);                   // a fixed shuffled drawing order: no class always on top
for (var i = 0; i < n; i++) order[i] = i;
for (var i = n - 1, seed = 12345; i > 0; i--) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; var j = seed % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }

// ---- sprite tiles: loaded on first use, each image cut from its tile by index
var tileImgs = [];
function tile(t) {
  if (!tileImgs[t]) { var im = new Image(); im.onload = function () { im.ready = true; schedule(); refreshThumbs(); }; im.src = tiles.files[t]; tileImgs[t] = im; }
  return tileImgs[t];
}
function drawThumb(ctx, i, x, y, w, h) {       // true when drawn, false while its tile is still loading
  var per = tiles.per_tile, t = Math.floor(i / per), k = i % per, im = tile(t);
  if (!im.ready) return false;
  ctx.drawImage(im, (k % tiles.cols) * tiles.w, Math.floor(k / tiles.cols) * tiles.h, tiles.w, tiles.h, x, y, w, h);
  return true;
}
var waiting = [];
function thumbCanvas(c, i, scale) {             // a small canvas that shows image i (now or once its tile arrives)
  c.width = tiles.w * scale; c.height = tiles.h * scale; c.dataset.index = i; c.dataset.loaded = "0";
  var g = c.getContext("2d"); g.imageSmoothingEnabled = false;
  if (drawThumb(g, i, 0, 0, c.width, c.height)) c.dataset.loaded = "1"; else waiting.push(c);
}
function refreshThumbs() {
  waiting = waiting.filter(function (c) {
    var g = c.getContext("2d"); g.imageSmoothingEnabled = false;
    if (drawThumb(g, +c.dataset.index, 0, 0, c.width, c.height)) { c.dataset.loaded = "1"; return false; }
    return true;
  });
}

// ---- layers, filters
function L() { return meta.layers[st.layer]; }
function xy() { return arr(L().xy); }
function flags(key) { return arr(L()[key]); }
function updateVisible() {
  var wrong = flags("misclassified"), iso = flags("isolated"), need = st.subset === "misclassified" ? wrong : st.subset === "isolated" ? iso : null;
  shown = 0;
  for (var i = 0; i < n; i++) { var v = st.classOn[labels[i]] && (!need || need[i]) ? 1 : 0; vis[i] = v; shown += v; }
  $("fv-count").textContent = n.toLocaleString("en") + " images, " + shown.toLocaleString("en") + " shown";
}
function fitView() {
  var b = L().bounds, w = Math.max(b[2] - b[0], 1e-9), h = Math.max(b[3] - b[1], 1e-9);
  st.s = st.fit = 0.94 * Math.min(W / w, H / h);
  st.tx = W / 2 - st.s * (b[0] + b[2]) / 2; st.ty = H / 2 + st.s * (b[1] + b[3]) / 2;
}
function resize() {
  dpr = window.devicePixelRatio || 1; W = main.clientWidth; H = main.clientHeight;
  [base, over].forEach(function (c) { c.width = Math.round(W * dpr); c.height = Math.round(H * dpr); c.style.width = W + "px"; c.style.height = H + "px"; });
  img = bctx.createImageData(base.width, base.height); buf = new Uint32Array(img.data.buffer);
}

// ---- drawing: points written straight into a pixel buffer, thumbnails and highlights drawn on top
function radius() { return Math.min(4, 1.2 + 0.6 * Math.log2(Math.max(1, st.s / st.fit))); }
function disc(r) { var R = Math.round(r * dpr), o = []; for (var dy = -R; dy <= R; dy++) for (var dx = -R; dx <= R; dx++) if (dx * dx + dy * dy <= R * R + R) o.push(dx, dy); return o; }
function drawBase() {
  var t0 = performance.now(), c = xy(), BW = base.width, BH = base.height, d = disc(radius()), nd = d.length;
  buf.fill(0xffffffff);
  var gw = Math.ceil(W / CELL) + 1, gh = Math.ceil(H / CELL) + 1, cellOf = new Int32Array(n).fill(-1), count = new Int32Array(gw * gh + 1), inView = 0;
  for (var pass = 0; pass < 2; pass++) for (var j = 0; j < n; j++) {
    var i = order[j]; if (vis[i] !== pass) continue;
    var x = c[2 * i] * st.s + st.tx, y = -c[2 * i + 1] * st.s + st.ty;
    sx[i] = x; sy[i] = y;
    if (x < -8 || y < -8 || x > W + 8 || y > H + 8) continue;
    var px = Math.round(x * dpr), py = Math.round(y * dpr);
    if (!pass) { if (px >= 0 && py >= 0 && px < BW && py < BH) buf[py * BW + px] = FAINT; continue; }
    var col = packed[labels[i]];
    for (var k = 0; k < nd; k += 2) { var X = px + d[k], Y = py + d[k + 1]; if (X >= 0 && Y >= 0 && X < BW && Y < BH) buf[Y * BW + X] = col; }
    if (x >= 0 && y >= 0 && x < W && y < H) { var cell = Math.floor(y / CELL) * gw + Math.floor(x / CELL); cellOf[i] = cell; count[cell + 1]++; inView++; }
  }
  bctx.putImageData(img, 0, 0);
  for (var q = 1; q < count.length; q++) count[q] += count[q - 1];
  var items = new Int32Array(inView), fill = count.slice(0);
  for (var j = 0; j < n; j++) { var i = order[j]; if (cellOf[i] >= 0) items[fill[cellOf[i]]++] = i; }
  grid = {gw: gw, gh: gh, start: count, items: items};
  thumbPx = 0;
  if (st.thumbs && inView > 0 && inView <= meta.max_thumbs && st.s / st.fit >= 2) {
    thumbPx = Math.max(14, Math.min(3 * Math.max(tiles.w, tiles.h), 0.8 * Math.sqrt(W * H / inView)));
    bctx.save(); bctx.scale(dpr, dpr); bctx.imageSmoothingEnabled = thumbPx < tiles.w;
    for (var q = 0; q < items.length; q++) {
      var i = items[q], tw = thumbPx * tiles.w / Math.max(tiles.w, tiles.h), th = thumbPx * tiles.h / Math.max(tiles.w, tiles.h);
      if (drawThumb(bctx, i, sx[i] - tw / 2, sy[i] - th / 2, tw, th)) { bctx.strokeStyle = colours[labels[i]]; bctx.lineWidth = 1.5; bctx.strokeRect(sx[i] - tw / 2, sy[i] - th / 2, tw, th); }
    }
    bctx.restore();
  }
  lastDraw = performance.now() - t0;
  drawOverlay();
}
function ring(i, r, colour, width) {
  octx.beginPath(); octx.arc(sx[i], sy[i], r, 0, 2 * Math.PI); octx.strokeStyle = colour; octx.lineWidth = width; octx.stroke();
}
function drawOverlay() {
  octx.setTransform(dpr, 0, 0, dpr, 0, 0); octx.clearRect(0, 0, W, H);
  var r = radius(), c = xy(), sel = st.selected;
  function place(i) { sx[i] = c[2 * i] * st.s + st.tx; sy[i] = -c[2 * i + 1] * st.s + st.ty; }
  if (sel >= 0) {
    var nb = neighbours(sel);
    if (nb) for (var q = 0; q < nb.length; q++) { place(nb[q]); ring(nb[q], thumbPx ? thumbPx * 0.75 : r + 3, "#000", thumbPx ? 2 : 1); }
    place(sel); var rs = Math.max(r + 7, thumbPx * 0.8 + 3); ring(sel, rs, "#fff", 5); ring(sel, rs, "#000", 2.5);
  }
  var h = st.hovered;
  if (h >= 0) {                                   // the hovered point in front of everything
    place(h);
    if (thumbPx) { var s = thumbPx * 1.6; octx.imageSmoothingEnabled = false; octx.fillStyle = "#fff"; octx.fillRect(sx[h] - s / 2 - 2, sy[h] - s / 2 - 2, s + 4, s + 4);
                   drawThumb(octx, h, sx[h] - s / 2, sy[h] - s / 2, s, s); octx.strokeStyle = colours[labels[h]]; octx.lineWidth = 2; octx.strokeRect(sx[h] - s / 2, sy[h] - s / 2, s, s); }
    else { octx.beginPath(); octx.arc(sx[h], sy[h], r + 3, 0, 2 * Math.PI); octx.fillStyle = colours[labels[h]]; octx.fill(); octx.strokeStyle = "#000"; octx.lineWidth = 1.5; octx.stroke(); }
  }
}
function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; drawBase(); }); } }

// ---- picking: the nearest shown point within reach of the cursor, from a grid of screen cells
function pick(x, y) {
  if (!grid) return -1;
  var reach = Math.max(6, radius() + 3, thumbPx / 2), R = Math.ceil(reach / CELL), best = -1, bd = reach * reach;
  var cx = Math.floor(x / CELL), cy = Math.floor(y / CELL);
  for (var gy = Math.max(0, cy - R); gy <= Math.min(grid.gh - 1, cy + R); gy++)
    for (var gx = Math.max(0, cx - R); gx <= Math.min(grid.gw - 1, cx + R); gx++) {
      var cell = gy * grid.gw + gx;
      for (var q = grid.start[cell]; q < grid.start[cell + 1]; q++) {
        var i = grid.items[q], dx = sx[i] - x, dy = sy[i] - y, dd = dx * dx + dy * dy;
        if (dd <= bd) { bd = dd; best = i; }      // later in drawing order = drawn on top: wins ties
      }
    }
  return best;
}

// ---- text about one image
function describe(i) {
  var parts = [meta.classes[labels[i]], meta.names ? meta.names[i] : "image #" + i], pred = flags("predictions"), wrong = flags("misclassified"), iso = flags("isolated");
  if (pred && wrong && wrong[i]) parts.push("predicted " + meta.classes[pred[i]]);
  if (iso && iso[i]) parts.push("isolated");
  return parts.join(" · ");
}
function neighbours(i) { var nb = arr(L().neighbours), k = L().k; return nb ? nb.subarray(i * k, (i + 1) * k) : null; }
function showTip(i, x, y) {
  if (i < 0) { tip.style.display = "none"; return; }
  thumbCanvas(tipImg, i, meta.zoom);
  tipText.textContent = describe(i); tip.dataset.index = i; tip.style.display = "block";
  var w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = (x + 16 + w > W ? x - 16 - w : x + 16) + "px"; tip.style.top = Math.max(0, Math.min(H - h, y + 16)) + "px";
}
function select(i) {
  st.selected = i;
  var box = $("fv-selected"), list = $("fv-neighbours");
  list.textContent = "";
  if (i < 0) { box.hidden = true; drawOverlay(); return; }
  box.hidden = false; box.dataset.index = i;
  thumbCanvas($("fv-sel-img"), i, meta.zoom); $("fv-sel-text").textContent = describe(i);
  var nb = neighbours(i), wrongs = flags("misclassified");
  $("fv-nb-head").textContent = nb ? L().k + " nearest in " + L().space + " (" + L().name + ")" : "no features for layer " + L().name + ": no neighbours";
  if (nb) for (var q = 0; q < nb.length; q++) {
    var j = nb[q], li = document.createElement("li"), c = document.createElement("canvas"), cap = document.createElement("div");
    li.dataset.index = j; li.title = describe(j);
    thumbCanvas(c, j, 2); c.style.borderBottomColor = colours[labels[j]];
    cap.textContent = meta.classes[labels[j]]; if (labels[j] !== labels[i]) cap.className = "fv-wrong";
    li.appendChild(c); li.appendChild(cap); list.appendChild(li);
    li.addEventListener("click", (function (j) { return function () { select(j); }; })(j));
  }
  drawOverlay();
}
function setLayer(k) {
  st.layer = k;
  Array.prototype.forEach.call($("fv-layers").children, function (b, q) { b.setAttribute("aria-pressed", String(q === k)); });
  document.querySelectorAll("input[name=fv-subset]").forEach(function (r) {
    r.disabled = r.value !== "all" && !L()[r.value]; if (r.disabled && r.checked) { $("fv-subset-all").checked = true; st.subset = "all"; } });
  updateVisible(); fitView(); drawBase(); select(st.selected);
}

// ---- the controls
meta.layers.forEach(function (l, k) {
  var b = document.createElement("button"); b.type = "button"; b.textContent = l.name; b.dataset.layer = k;
  b.addEventListener("click", function () { setLayer(k); }); $("fv-layers").appendChild(b);
});
var counts = new Uint32Array(K); for (var i = 0; i < n; i++) counts[labels[i]]++;
meta.classes.forEach(function (name, c) {
  var lab = document.createElement("label"), box = document.createElement("input"), sw = document.createElement("span");
  box.type = "checkbox"; box.checked = true; box.dataset.class = c; sw.className = "fv-sw"; sw.style.background = colours[c];
  box.addEventListener("change", function () { st.classOn[c] = box.checked ? 1 : 0; updateVisible(); schedule(); });
  lab.appendChild(box); lab.appendChild(sw); lab.appendChild(document.createTextNode(name + " (" + counts[c] + ")")); $("fv-classes").appendChild(lab);
});
function allClasses(on) { document.querySelectorAll("#fv-classes input").forEach(function (b) { b.checked = on; st.classOn[+b.dataset.class] = on ? 1 : 0; }); updateVisible(); schedule(); }
$("fv-all").addEventListener("click", function () { allClasses(true); });
$("fv-none").addEventListener("click", function () { allClasses(false); });
document.querySelectorAll("input[name=fv-subset]").forEach(function (r) {
  r.addEventListener("change", function () { st.subset = r.value; updateVisible(); schedule(); }); });
$("fv-thumbs").addEventListener("change", function (e) { st.thumbs = e.target.checked; schedule(); });
$("fv-reset").addEventListener("click", function () { fitView(); schedule(); });

// ---- pointer: drag pans, the wheel zooms about the cursor, a click selects
var drag = null;
function local(e) { var b = over.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
over.addEventListener("mousedown", function (e) { var p = local(e); drag = {x: p[0], y: p[1], tx: st.tx, ty: st.ty, moved: false}; });
over.addEventListener("mousemove", function (e) {
  var p = local(e);
  if (drag && (drag.moved || Math.abs(p[0] - drag.x) + Math.abs(p[1] - drag.y) > 3)) {
    drag.moved = true; st.tx = drag.tx + p[0] - drag.x; st.ty = drag.ty + p[1] - drag.y; showTip(-1); schedule(); return;
  }
  var i = pick(p[0], p[1]);
  if (i !== st.hovered) { st.hovered = i; drawOverlay(); }
  showTip(i, p[0], p[1]);
});
over.addEventListener("mouseup", function (e) { if (drag && !drag.moved) { var p = local(e); select(pick(p[0], p[1])); } drag = null; });
over.addEventListener("mouseleave", function () { drag = null; st.hovered = -1; showTip(-1); drawOverlay(); });
over.addEventListener("wheel", function (e) {
  e.preventDefault();
  var p = local(e), f = Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), s = Math.min(st.fit * 5000, Math.max(st.fit / 4, st.s * f));
  f = s / st.s; st.s = s; st.tx = p[0] - (p[0] - st.tx) * f; st.ty = p[1] - (p[1] - st.ty) * f; schedule();
}, {passive: false});
window.addEventListener("resize", function () { resize(); fitView(); drawBase(); });

// ---- start, and a small API for tests and scripts
resize(); setLayer(0);
var loadMs = performance.now();
document.body.dataset.ready = "1";
window.featvizExplorer = {
  n: n, loadMs: loadMs, layers: meta.layers.map(function (l) { return l.name; }),
  get drawMs() { return lastDraw; }, get layer() { return st.layer; }, get hovered() { return st.hovered; },
  get selected() { return st.selected; }, get shown() { return shown; }, get zoom() { return st.s / st.fit; },
  get thumbnailsDrawn() { return thumbPx > 0; },
  screenXY: function (i) { var c = xy(); return [c[2 * i] * st.s + st.tx, -c[2 * i + 1] * st.s + st.ty]; },
  pick: pick, neighbours: function (i) { var nb = neighbours(i); return nb ? Array.from(nb) : null; },
  select: select, setLayer: setLayer, redraw: drawBase,
  zoomTo: function (i, z) { var p = this.screenXY(i); st.s = st.fit * z; var c = xy(); st.tx = W / 2 - c[2 * i] * st.s; st.ty = H / 2 + c[2 * i + 1] * st.s; drawBase(); }
};
setTimeout(function () { for (var t = 0; t < tiles.files.length; t++) tile(t); }, 50);   // fetch the tiles in the background
})();
