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
var n = meta.n, K = meta.classes.length, labels = arr(meta.labels), tiles = meta.tiles, colours = meta.colours;
function pack(h) { var v = parseInt(h.slice(1), 16); return (0xff000000 | ((v & 255) << 16) | (v & 0xff00) | (v >> 16)) >>> 0; }
function paler(c) {                               // a packed colour 75 % of the way to white: a dimmed point
  var r = c & 255, g = (c >> 8) & 255, b = (c >> 16) & 255, f = function (v) { return Math.round(v + 0.75 * (255 - v)); };
  return (0xff000000 | (f(b) << 16) | (f(g) << 8) | f(r)) >>> 0;
}
var packed = colours.map(pack), FAINT = 0xffe4e4e4 >>> 0;
var STOPS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];   // viridis
var rampCss = [], rampPacked = new Uint32Array(256);
for (var q = 0; q < 256; q++) {                   // 256 colours between the stops, for values 0 to 1
  var f = q / 255 * (STOPS.length - 1), a0 = Math.min(STOPS.length - 2, Math.floor(f)), w = f - a0, hex = "#";
  for (var ch = 0; ch < 3; ch++) {
    var lo = parseInt(STOPS[a0].substr(1 + 2 * ch, 2), 16), hi = parseInt(STOPS[a0 + 1].substr(1 + 2 * ch, 2), 16), v = Math.round(lo + w * (hi - lo));
    hex += (v < 16 ? "0" : "") + v.toString(16);
  }
  rampCss.push(hex); rampPacked[q] = pack(hex);
}
var $ = function (id) { return document.getElementById(id); };
var main = $("fv-main"), base = $("fv-base"), over = $("fv-overlay"), bctx = base.getContext("2d"), octx = over.getContext("2d");
var tip = $("fv-tip"), tipImg = tip.querySelector("canvas"), tipText = tip.querySelector("div"), searchBox = $("fv-search");
var st = {layer: 0, s: 1, tx: 0, ty: 0, fit: 1, hovered: -1, selected: -1, anchor: -1, subset: "all", thumbs: true,
          classOn: new Uint8Array(K).fill(1), colour: "class", boxMode: false};
var W = 0, H = 0, dpr = 1, img = null, buf = null, vis = new Uint8Array(n), lev = new Uint8Array(n), sx = new Float32Array(n), sy = new Float32Array(n);
var grid = null, CELL = 8, lastDraw = 0, thumbPx = 0, pending = false, shown = 0;
var pcol = new Uint32Array(n), dcol = new Uint32Array(n), qcol = null;   // each point's colour, dimmed colour, ramp code
var match = null, nMatch = 0, boxSel = null, nBox = 0, box = null, lastBox = null, lastExport = null;
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

// ---- layers, distances and scores (each computed on first use and kept)
function L() { return meta.layers[st.layer]; }
function xy() { return arr(L().xy); }
function flags(key) { return arr(L()[key]); }
function neighbours(i, l) { l = l || L(); var nb = arr(l.neighbours), k = l.k; return nb ? nb.subarray(i * k, (i + 1) * k) : null; }
function distance(i, q, l) {                      // distance of image i to its q-th neighbour: d_max (code / 255)^2
  l = l || L(); var c = arr(l.distances); if (!c) return null;
  var v = c[i * l.k + q] / 255; return l.distance_max * (v * v);
}
var cache = {};
function agreement(l) {                           // share of the k neighbours with the same label
  var key = "agree:" + l.name; if (cache[key]) return cache[key];
  var nb = arr(l.neighbours), k = l.k, out = new Float32Array(n);
  for (var i = 0; i < n; i++) { var s = 0; for (var q = 0; q < k; q++) if (labels[nb[i * k + q]] === labels[i]) s++; out[i] = s / k; }
  return (cache[key] = out);
}
function isolation(l) {                           // rank of the mean distance to the k neighbours: 1 = the farthest
  var key = "iso:" + l.name; if (cache[key]) return cache[key];
  if (!l.distances) return null;
  var m = new Float32Array(n);
  for (var i = 0; i < n; i++) { var s = 0; for (var q = 0; q < l.k; q++) s += distance(i, q, l); m[i] = s / l.k; }
  var sorted = m.slice().sort(), out = new Float32Array(n);
  for (var i = 0; i < n; i++) {                   // how many other images have a smaller mean distance, over n - 1
    var a = 0, b = n; while (a < b) { var c = (a + b) >> 1; if (sorted[c] < m[i]) a = c + 1; else b = c; }
    out[i] = n > 1 ? a / (n - 1) : 0;
  }
  return (cache[key] = out);
}
function given(s) { var key = "score:" + s; return cache[key] || (cache[key] = Float32Array.from(arr(meta.scores[s].values), function (v) { return v / 65535; })); }
function values(mode, l) {                        // the values in [0, 1] behind colour mode `mode` in layer l, or null
  l = l || L();
  if (mode === "agreement") return agreement(l);
  if (mode === "isolation") return isolation(l);
  if (mode.indexOf("score:") === 0) return given(+mode.slice(6));
  return null;
}
var MODES = [["class", "class"]];
if (K > 1) MODES.push(["agreement", "neighbour agreement"]);
if (meta.layers.some(function (l) { return l.distances; })) MODES.push(["isolation", "isolation"]);
(meta.scores || []).forEach(function (s, q) { MODES.push(["score:" + q, s.name]); });
function modeName(mode) { for (var q = 0; q < MODES.length; q++) if (MODES[q][0] === mode) return MODES[q][1]; return mode; }
function explain(mode) {
  var l = L();
  if (mode === "agreement") return "share of the " + l.k + " nearest in " + l.space + " with the same label (0: none agrees)";
  if (mode === "isolation") return "rank of the mean distance to the " + l.k + " nearest in " + l.space + " (1: the most isolated image)";
  return "given with the page, 0 to 1";
}
function fmt(v, d) { return v === null || v === undefined ? "" : String(+v.toFixed(d)); }

// ---- what is shown, and how strongly: level 0 hidden (a faint dot), 1 dimmed (not a search match / outside the box), 2 full
function updateVisible() {
  var wrong = flags("misclassified"), iso = flags("isolated"), need = st.subset === "misclassified" ? wrong : st.subset === "isolated" ? iso : null;
  shown = 0;
  for (var i = 0; i < n; i++) {
    var v = st.classOn[labels[i]] && (!need || need[i]) ? 1 : 0; vis[i] = v; shown += v;
    lev[i] = !v ? 0 : (match && !match[i]) || (boxSel && !boxSel[i]) ? 1 : 2;
  }
  $("fv-count").textContent = n.toLocaleString("en") + " images, " + shown.toLocaleString("en") + " shown";
}
function recolour() {                             // each point's colour for the colour-by mode, and the legend
  var opt = $("fv-colour").querySelector('option[value="' + st.colour + '"]');
  if (!opt || opt.disabled) st.colour = "class";
  $("fv-colour").value = st.colour;
  var v = values(st.colour);
  qcol = v ? new Uint8Array(n) : null;
  for (var i = 0; i < n; i++) {
    var c;
    if (v) { qcol[i] = Math.round(Math.min(1, Math.max(0, v[i])) * 255); c = rampPacked[qcol[i]]; } else c = packed[labels[i]];
    pcol[i] = c; dcol[i] = paler(c);
  }
  var lg = $("fv-legend"); lg.dataset.mode = st.colour; lg.textContent = "";
  if (!v) { lg.appendChild(document.createTextNode("colour: class (the swatches above)")); return; }
  var bar = document.createElement("div"), ticks = document.createElement("div"), cap = document.createElement("div");
  bar.className = "fv-bar"; bar.style.background = "linear-gradient(to right," + STOPS.join(",") + ")";
  ticks.className = "fv-ticks"; ["0", "0.5", "1"].forEach(function (t) { var s = document.createElement("span"); s.textContent = t; ticks.appendChild(s); });
  cap.className = "fv-small"; cap.textContent = modeName(st.colour) + ": " + explain(st.colour);
  lg.appendChild(bar); lg.appendChild(ticks); lg.appendChild(cap);
}
function colourOf(i) { return qcol ? rampCss[qcol[i]] : colours[labels[i]]; }
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
  for (var pass = 0; pass < 3; pass++) for (var j = 0; j < n; j++) {
    var i = order[j]; if (lev[i] !== pass) continue;
    var x = c[2 * i] * st.s + st.tx, y = -c[2 * i + 1] * st.s + st.ty;
    sx[i] = x; sy[i] = y;
    if (x < -8 || y < -8 || x > W + 8 || y > H + 8) continue;
    var px = Math.round(x * dpr), py = Math.round(y * dpr);
    if (!pass) { if (px >= 0 && py >= 0 && px < BW && py < BH) buf[py * BW + px] = FAINT; continue; }
    var col = pass === 2 ? pcol[i] : dcol[i];
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
    var tw = thumbPx * tiles.w / Math.max(tiles.w, tiles.h), th = thumbPx * tiles.h / Math.max(tiles.w, tiles.h);
    for (var pass = 1; pass < 3; pass++) {        // dimmed thumbnails first and faded, the others over them
      bctx.globalAlpha = pass === 1 ? 0.25 : 1;
      for (var q = 0; q < items.length; q++) {
        var i = items[q]; if (lev[i] !== pass) continue;
        if (drawThumb(bctx, i, sx[i] - tw / 2, sy[i] - th / 2, tw, th)) { bctx.strokeStyle = colourOf(i); bctx.lineWidth = 1.5; bctx.strokeRect(sx[i] - tw / 2, sy[i] - th / 2, tw, th); }
      }
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
  var r = radius(), c = xy(), sel = st.selected, an = st.anchor;
  function place(i) { sx[i] = c[2 * i] * st.s + st.tx; sy[i] = -c[2 * i + 1] * st.s + st.ty; }
  if (an >= 0) {
    var nb = neighbours(an);
    if (nb) for (var q = 0; q < nb.length; q++) { place(nb[q]); ring(nb[q], thumbPx ? thumbPx * 0.75 : r + 3, "#000", thumbPx ? 2 : 1); }
    place(an);
    if (an !== sel) ring(an, Math.max(r + 5, thumbPx * 0.8 + 2), "#000", 1.5);   // the image whose neighbours the arrows walk
  }
  if (sel >= 0) { place(sel); var rs = Math.max(r + 7, thumbPx * 0.8 + 3); ring(sel, rs, "#fff", 5); ring(sel, rs, "#000", 2.5); }
  if (box) {                                      // the box being dragged
    octx.fillStyle = "rgba(13,110,253,0.08)"; octx.fillRect(Math.min(box[0], box[2]), Math.min(box[1], box[3]), Math.abs(box[2] - box[0]), Math.abs(box[3] - box[1]));
    octx.strokeStyle = "#0d6efd"; octx.lineWidth = 1; octx.setLineDash([4, 3]);
    octx.strokeRect(Math.min(box[0], box[2]), Math.min(box[1], box[3]), Math.abs(box[2] - box[0]), Math.abs(box[3] - box[1])); octx.setLineDash([]);
  }
  var h = st.hovered;
  if (h >= 0) {                                   // the hovered point in front of everything
    place(h);
    if (thumbPx) { var s = thumbPx * 1.6; octx.imageSmoothingEnabled = false; octx.fillStyle = "#fff"; octx.fillRect(sx[h] - s / 2 - 2, sy[h] - s / 2 - 2, s + 4, s + 4);
                   drawThumb(octx, h, sx[h] - s / 2, sy[h] - s / 2, s, s); octx.strokeStyle = colourOf(h); octx.lineWidth = 2; octx.strokeRect(sx[h] - s / 2, sy[h] - s / 2, s, s); }
    else { octx.beginPath(); octx.arc(sx[h], sy[h], r + 3, 0, 2 * Math.PI); octx.fillStyle = colourOf(h); octx.fill(); octx.strokeStyle = "#000"; octx.lineWidth = 1.5; octx.stroke(); }
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

// ---- text about one image: what it is, its scores, where it stands to the image whose neighbours are listed
function fmtD(d) { return d === null ? "" : String(+d.toPrecision(3)); }
function describe(i) {
  var parts = [meta.classes[labels[i]]].concat(meta.names ? [meta.names[i], "#" + i] : ["image #" + i]), pred = flags("predictions"), wrong = flags("misclassified"), iso = flags("isolated");
  if (pred && wrong && wrong[i]) parts.push((meta.predicted || "predicted") + " " + meta.classes[pred[i]]);   // a classifier's, or the neighbours' vote
  if (iso && iso[i]) parts.push("isolated");
  (meta.flags || []).forEach(function (f) { if (given_flag(f.name.toLowerCase())[i]) parts.push("flag:" + f.name); });
  return parts.join(" · ");
}
function scoreLine(i) {
  var l = L(), parts = [];
  if (K > 1) parts.push("agreement " + Math.round(agreement(l)[i] * l.k) + "/" + l.k);
  if (l.distances) parts.push("isolation " + fmt(isolation(l)[i], 2), "nearest at " + fmtD(distance(i, 0)));
  (meta.scores || []).forEach(function (s, q) { parts.push(s.name + " " + fmt(given(q)[i], 3)); });
  return parts.join(" · ");
}
function relation(i) {                            // "neighbour 3 of #12 at distance 1.93" when i is in the listed neighbours
  var a = st.anchor, nb = a >= 0 && a !== i ? neighbours(a) : null;
  if (nb) for (var q = 0; q < nb.length; q++) if (nb[q] === i) return "neighbour " + (q + 1) + " of #" + a + (L().distances ? " at distance " + fmtD(distance(a, q)) : "");
  return "";
}
function about(i) { var r = relation(i); return describe(i) + "\n" + scoreLine(i) + (r ? "\n" + r : ""); }
function showTip(i, x, y) {
  if (i < 0) { tip.style.display = "none"; return; }
  thumbCanvas(tipImg, i, meta.zoom);
  tipText.textContent = about(i); tip.dataset.index = i; tip.style.display = "block";
  var w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = (x + 16 + w > W ? x - 16 - w : x + 16) + "px"; tip.style.top = Math.max(0, Math.min(H - h, y + 16)) + "px";
}

// ---- the selected image and the neighbour list (of the "anchor": the image clicked; the arrow keys walk its list)
function listScore(j) {                           // the number under each neighbour: the colour-by score, else agreement
  var v = values(st.colour === "class" ? "agreement" : st.colour);
  return v ? fmt(v[j], 2) : "";
}
function renderList() {
  var i = st.anchor, list = $("fv-neighbours"); list.textContent = "";
  if (i < 0) return;
  var nb = neighbours(i), l = L(), what = st.colour === "class" ? (K > 1 ? "neighbour agreement" : "") : modeName(st.colour);
  $("fv-nb-head").textContent = nb ? l.k + " nearest to #" + i + " in " + l.space + " (" + l.name + "); under each: label" +
    (l.distances ? ", distance" : "") + (what ? ", " + what : "") : "no features for layer " + l.name + ": no neighbours";
  if (nb) for (var q = 0; q < nb.length; q++) {
    var j = nb[q], li = document.createElement("li"), c = document.createElement("canvas"), cap = document.createElement("div");
    li.dataset.index = j; li.title = describe(j);
    thumbCanvas(c, j, 2); c.style.borderBottomColor = colourOf(j);
    cap.textContent = meta.classes[labels[j]]; if (labels[j] !== labels[i]) cap.className = "fv-wrong";
    li.appendChild(c); li.appendChild(cap);
    if (l.distances) { var d = document.createElement("span"); d.className = "fv-nd"; d.textContent = fmtD(distance(i, q)); li.appendChild(d); }
    if (what) { var s = document.createElement("span"); s.className = "fv-ns"; s.textContent = listScore(j); li.appendChild(s); }
    list.appendChild(li);
    li.addEventListener("click", (function (j) { return function () { select(j); }; })(j));
  }
  markCurrent();
}
function markCurrent() {
  document.querySelectorAll("#fv-neighbours li").forEach(function (li) {
    if (+li.dataset.index === st.selected) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current"); });
}
function setCurrent(i) {                          // show image i as the selected one, keeping the anchor's list
  st.selected = i;
  var boxEl = $("fv-selected");
  if (i < 0) { boxEl.hidden = true; drawOverlay(); return; }
  boxEl.hidden = false; boxEl.dataset.index = i;
  thumbCanvas($("fv-sel-img"), i, meta.zoom); $("fv-sel-text").textContent = about(i);
  markCurrent(); drawOverlay();
}
function select(i) {
  st.anchor = i; renderList(); setCurrent(i);
  if (i >= 0) $("fv-selected").scrollIntoView({block: "nearest"});   // the panel scrolls to the image and its neighbours
}
function step(dir) {                              // the arrow keys: the next / previous neighbour of the anchor
  if (st.anchor < 0) return;
  var nb = neighbours(st.anchor); if (!nb) return;
  var pos = -1; for (var q = 0; q < nb.length; q++) if (nb[q] === st.selected) pos = q;
  pos = Math.max(-1, Math.min(nb.length - 1, pos + dir));
  setCurrent(pos < 0 ? st.anchor : nb[pos]); reveal(st.selected);
}
function reveal(i) {                              // pan so that image i is in view (the zoom stays)
  var c = xy(), x = c[2 * i] * st.s + st.tx, y = -c[2 * i + 1] * st.s + st.ty;
  if (x > 20 && y > 20 && x < W - 20 && y < H - 20) return;
  st.tx += W / 2 - x; st.ty += H / 2 - y; schedule();
}
function setLayer(k) {
  st.layer = k;
  Array.prototype.forEach.call($("fv-layers").children, function (b, q) { b.setAttribute("aria-pressed", String(q === k)); });
  document.querySelectorAll("input[name=fv-subset]").forEach(function (r) {
    r.disabled = r.value !== "all" && !L()[r.value]; if (r.disabled && r.checked) { $("fv-subset-all").checked = true; st.subset = "all"; } });
  var iso = $("fv-colour").querySelector('option[value="isolation"]'); if (iso) iso.disabled = !L().distances;
  updateVisible(); fitView(); recolour(); drawBase(); select(st.selected);
}
function setColour(mode) { st.colour = mode; recolour(); renderList(); if (st.selected >= 0) setCurrent(st.selected); schedule(); }

// ---- search: "#12" an index, "label:7" a label, "name:cat" part of a file name, "flag:leak" a given flag; plain text any of the first three
function given_flag(name) {                       // the flags called `name` (an audit's issue), or null
  var f = (meta.flags || []).filter(function (f) { return f.name.toLowerCase() === name; })[0];
  return f ? (cache["flag:" + f.name] || (cache["flag:" + f.name] = arr(f.values))) : null;
}
var lowNames = null;
function search(text) {
  var q = String(text).trim().toLowerCase(), m, idx = -1, lab = null, sub = null, flag = null;
  match = null; nMatch = 0;
  if (q) {
    if ((m = /^#(\d+)$/.exec(q))) idx = +m[1];
    else if ((m = /^flag:\s*(.*)$/.exec(q))) flag = given_flag(m[1]);
    else if ((m = /^label:\s*(.*)$/.exec(q))) lab = m[1];
    else if ((m = /^name:\s*(.*)$/.exec(q))) sub = m[1];
    else { lab = sub = q; if (/^\d+$/.test(q)) idx = +q; }
    var cls = new Uint8Array(K);
    if (lab !== null) meta.classes.forEach(function (c, k) { if (String(c).toLowerCase() === lab) cls[k] = 1; });
    if (sub !== null && meta.names && !lowNames) lowNames = meta.names.map(function (s) { return s.toLowerCase(); });
    var names = sub !== null && sub !== "" ? lowNames : null;
    match = new Uint8Array(n);
    for (var i = 0; i < n; i++) if (i === idx || cls[labels[i]] || (names && names[i].indexOf(sub) >= 0) || (flag && flag[i])) { match[i] = 1; nMatch++; }
  }
  updateVisible(); schedule();
  var seen = 0; if (match) for (var i = 0; i < n; i++) seen += match[i] & vis[i];
  $("fv-search-info").textContent = match ? nMatch.toLocaleString("en") + (nMatch === 1 ? " match" : " matches") + " (" + seen.toLocaleString("en") +
    " shown; the others dimmed)" + (seen ? ", Enter selects the first" : "") : "";
  return nMatch;
}
function firstMatch() { if (match) for (var i = 0; i < n; i++) if (match[i] && vis[i]) return i; return -1; }

// ---- box selection (shift+drag, or drag in select mode) and its export as CSV
function boxSelect(x0, y0, x1, y1) {              // the shown images inside a box given in the map's CSS pixels
  var c = xy(), a = Math.min(x0, x1), b = Math.max(x0, x1), t = Math.min(y0, y1), u = Math.max(y0, y1);
  boxSel = new Uint8Array(n); nBox = 0; lastBox = [a, t, b, u];
  for (var i = 0; i < n; i++) {
    if (!vis[i]) continue;
    var x = c[2 * i] * st.s + st.tx, y = -c[2 * i + 1] * st.s + st.ty;
    if (x >= a && x <= b && y >= t && y <= u) { boxSel[i] = 1; nBox++; }
  }
  if (!nBox) boxSel = null;
  boxChanged(); return nBox;
}
function boxChanged() {
  $("fv-box-info").textContent = boxSel ? nBox.toLocaleString("en") + (nBox === 1 ? " image" : " images") + " in the box (the others dimmed)"
                                        : "shift+drag a box on the map (or turn on select mode and drag)";
  $("fv-export").disabled = $("fv-box-clear").disabled = !boxSel;
  updateVisible(); schedule();
}
function clearBox() { boxSel = null; nBox = 0; boxChanged(); }
function csvField(v) { v = String(v); return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
function selectionCSV() {                         // index, name, label, then per layer x, y and scores, then the given scores
  var head = ["index", "name", "label"], cols = [];
  meta.layers.forEach(function (l) {
    var c = arr(l.xy), ag = K > 1 ? agreement(l) : null, iso = isolation(l);
    head.push(l.name + " x", l.name + " y");
    cols.push(function (i) { return String(+c[2 * i].toPrecision(7)); }, function (i) { return String(+c[2 * i + 1].toPrecision(7)); });
    if (ag) { head.push(l.name + " neighbour agreement"); cols.push(function (i) { return fmt(ag[i], 4); }); }
    if (iso) { head.push(l.name + " isolation"); cols.push(function (i) { return fmt(iso[i], 4); }); }
  });
  (meta.scores || []).forEach(function (s, q) { var v = given(q); head.push(s.name); cols.push(function (i) { return fmt(v[i], 5); }); });
  var lines = [head.map(csvField).join(",")];
  for (var i = 0; i < n; i++) if (boxSel[i])
    lines.push([i, meta.names ? meta.names[i] : "", meta.classes[labels[i]]].concat(cols.map(function (f) { return f(i); })).map(csvField).join(","));
  return lines.join("\n") + "\n";
}
var lastDownload = null;
function exportSelection() {                      // a download of the CSV from a Blob URL: no server, works offline
  if (!boxSel) return null;
  var text = selectionCSV(), url = URL.createObjectURL(new Blob([text], {type: "text/csv"})), a = document.createElement("a");
  a.href = url; a.download = (meta.title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "featviz") + "-selection.csv";
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  lastExport = text; lastDownload = {name: a.download, url: url};
  return text;
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
MODES.forEach(function (m) { var o = document.createElement("option"); o.value = m[0]; o.textContent = m[1]; $("fv-colour").appendChild(o); });
$("fv-colour").addEventListener("change", function (e) { setColour(e.target.value); e.target.blur(); });   // arrows walk neighbours again
searchBox.addEventListener("input", function () { search(searchBox.value); });
searchBox.addEventListener("keydown", function (e) {
  if (e.key === "Enter") { e.preventDefault(); var i = firstMatch(); if (i >= 0) { select(i); reveal(i); } }
});
function setBoxMode(on) { st.boxMode = on; $("fv-boxmode").setAttribute("aria-pressed", String(on)); over.classList.toggle("fv-boxing", on); }
$("fv-boxmode").addEventListener("click", function () { setBoxMode(!st.boxMode); });
$("fv-export").addEventListener("click", exportSelection);
$("fv-box-clear").addEventListener("click", clearBox);

// ---- pointer: drag pans (shift+drag or select mode: draws a box), the wheel zooms about the cursor, a click selects
var drag = null;
function local(e) { var b = over.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
over.addEventListener("mousedown", function (e) {
  var p = local(e), boxing = e.shiftKey || st.boxMode;
  if (boxing) e.preventDefault();                 // no text selection while drawing a box
  drag = {x: p[0], y: p[1], tx: st.tx, ty: st.ty, moved: false, box: boxing};
});
over.addEventListener("mousemove", function (e) {
  var p = local(e);
  if (drag && (drag.moved || Math.abs(p[0] - drag.x) + Math.abs(p[1] - drag.y) > 3)) {
    drag.moved = true; showTip(-1);
    if (drag.box) { box = [drag.x, drag.y, p[0], p[1]]; drawOverlay(); return; }
    st.tx = drag.tx + p[0] - drag.x; st.ty = drag.ty + p[1] - drag.y; schedule(); return;
  }
  var i = pick(p[0], p[1]);
  if (i !== st.hovered) { st.hovered = i; drawOverlay(); }
  showTip(i, p[0], p[1]);
});
over.addEventListener("mouseup", function (e) {
  var p = local(e);
  if (drag && drag.box && drag.moved) { box = null; boxSelect(drag.x, drag.y, p[0], p[1]); }
  else if (drag && !drag.moved) select(pick(p[0], p[1]));
  drag = null;
});
over.addEventListener("mouseleave", function () { if (drag && drag.box) { box = null; } drag = null; st.hovered = -1; showTip(-1); drawOverlay(); });
over.addEventListener("wheel", function (e) {
  e.preventDefault();
  var p = local(e), f = Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), s = Math.min(st.fit * 5000, Math.max(st.fit / 4, st.s * f));
  f = s / st.s; st.s = s; st.tx = p[0] - (p[0] - st.tx) * f; st.ty = p[1] - (p[1] - st.ty) * f; schedule();
}, {passive: false});
window.addEventListener("resize", function () { resize(); fitView(); drawBase(); });

// ---- keyboard: "/" to the search box, arrows walk the neighbour list, Esc clears (in the search box: the search)
document.addEventListener("keydown", function (e) {
  var t = e.target, typing = t && (t.tagName === "SELECT" || t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && !/^(checkbox|radio|button)$/.test(t.type)));
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "Escape") {
    e.preventDefault();
    if (t === searchBox) { if (searchBox.value) { searchBox.value = ""; search(""); } else searchBox.blur(); return; }
    if (drag) { drag = null; box = null; }
    select(-1); clearBox(); return;
  }
  if (typing) return;
  if (e.key === "/") { e.preventDefault(); searchBox.focus(); searchBox.select(); return; }
  var dir = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[e.key];
  if (dir && st.anchor >= 0) { e.preventDefault(); step(dir); }
});

// ---- start, and a small API for tests and scripts
resize(); setLayer(0);
var loadMs = performance.now();
document.body.dataset.ready = "1";
window.featvizExplorer = {
  n: n, loadMs: loadMs, layers: meta.layers.map(function (l) { return l.name; }), colourModes: MODES.map(function (m) { return m[0]; }),
  get drawMs() { return lastDraw; }, get layer() { return st.layer; }, get hovered() { return st.hovered; },
  get selected() { return st.selected; }, get anchor() { return st.anchor; }, get shown() { return shown; }, get zoom() { return st.s / st.fit; },
  get thumbnailsDrawn() { return thumbPx > 0; }, get colourBy() { return st.colour; }, get matches() { return nMatch; },
  get boxSelection() { var o = []; if (boxSel) for (var i = 0; i < n; i++) if (boxSel[i]) o.push(i); return o; },
  get lastBox() { return lastBox; }, get lastExport() { return lastExport; }, get lastDownload() { return lastDownload; },
  screenXY: function (i) { var c = xy(); return [c[2 * i] * st.s + st.tx, -c[2 * i + 1] * st.s + st.ty]; },
  pick: pick, neighbours: function (i) { var nb = neighbours(i); return nb ? Array.from(nb) : null; },
  distances: function (i) { var l = L(); if (!l.distances) return null; var o = []; for (var q = 0; q < l.k; q++) o.push(distance(i, q)); return o; },
  values: function (mode) { var v = values(mode); return v ? Array.from(v) : null; },
  colourOf: colourOf, level: function (i) { return lev[i]; }, describe: describe,
  select: select, setLayer: setLayer, setColour: setColour, search: search, boxSelect: boxSelect, clearBox: clearBox,
  exportSelection: exportSelection, redraw: drawBase,
  zoomTo: function (i, z) { st.s = st.fit * z; var c = xy(); st.tx = W / 2 - c[2 * i] * st.s; st.ty = H / 2 + c[2 * i + 1] * st.s; drawBase(); }
};
setTimeout(function () { for (var t = 0; t < tiles.files.length; t++) tile(t); }, 50);   // fetch the tiles in the background
})();
