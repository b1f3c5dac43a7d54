"""The embedding explorer at full MNIST scale: all 70,000 images (train + test) in one page with two layers.

Stand-in maps (the page's size and speed do not depend on how a map was made): layer "pixels" is the first two
principal components of the pixels, with neighbours in the pixels' PCA-50 space; layer "random projection" is the
2-D PCA of a 64-d Gaussian random projection of the pixels, with neighbours in those 64 dimensions. Reports the
build's parts (neighbour search per layer, sprite tiles, writing the page), the file sizes, and in headless Chromium
(served over HTTP on 127.0.0.1): the time from navigation start to the first draw, a full redraw, the redraw with
thumbnails at high zoom, and the hover and click handlers' latency (mouse events dispatched in the page, timed
there; median of repeats), and the colour-by and search features (issue 26): the page carries the neighbours'
distances and a stand-in "label-issue score" (uniform random) as the audit's score would be. Leaves the page in --out for `FEATVIZ_EXPLORER_70K=--out/mnist70k.html pytest
tests/test_explorer_browser.py`.

    FEATVIZ_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/bench_explorer.py --out /tmp/explorer70k
"""
import argparse, shutil, statistics, sys, threading, time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from featviz.data.datasets import load_mnist
from featviz.analysis.embed import pca_reduce
from featviz.report.explorer import build_explorer, explorer_files, feature_neighbours, sprite_tiles

def timed(fn):
    t0 = time.perf_counter(); out = fn(); return out, time.perf_counter() - t0

# Dispatch `reps` mouse events at lone points in the page and time the handlers (they run synchronously).
LATENCY_JS = '''
var fe = window.featvizExplorer, over = document.getElementById('fv-overlay'), b = over.getBoundingClientRect(), reps = arguments[0];
function ev(type, i) { var p = fe.screenXY(i); over.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: b.left + p[0], clientY: b.top + p[1]})); }
var hover = [], click = [], hits = 0, step = Math.floor(fe.n / reps);
for (var r = 0; r < reps; r++) {
  var i = (r * step + 17) % fe.n, t0 = performance.now();
  ev('mousemove', i); hover.push(performance.now() - t0); if (fe.hovered >= 0) hits++;
  t0 = performance.now(); ev('mousedown', i); ev('mouseup', i); click.push(performance.now() - t0);
}
var med = function (a) { a.sort(function (x, y) { return x - y; }); return a[Math.floor(a.length / 2)]; };
return {hover: med(hover), hover_max: Math.max.apply(null, hover), click: med(click), click_max: Math.max.apply(null, click), hits: hits};'''

REDRAW_JS = '''
var fe = window.featvizExplorer, t = [];
for (var r = 0; r < arguments[0]; r++) { var t0 = performance.now(); fe.redraw(); t.push(performance.now() - t0); }
t.sort(function (a, b) { return a - b; }); return [t[t.length >> 1], t[0], t[t.length - 1], fe.thumbnailsDrawn];'''

COLOUR_SEARCH_JS = '''
var fe = window.featvizExplorer, t = [], m = 0;
function time(f) { var t0 = performance.now(); f(); fe.redraw(); t.push(performance.now() - t0); }
time(function () { fe.setColour("agreement"); }); time(function () { fe.setColour("isolation"); }); time(function () { fe.setColour("class"); });
time(function () { m = fe.search("label:7"); }); fe.search(""); t.push(m); return t;'''

def browser_numbers(page: Path, repeat: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chromium = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
    if not (chromium and shutil.which('chromedriver')): sys.exit('Chromium / chromedriver not installed')
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(Quiet, directory=str(page.parent)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions(); opts.binary_location = chromium
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,1000'):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(shutil.which('chromedriver')), options=opts)
    try:
        url = f'http://127.0.0.1:{httpd.server_address[1]}/{page.name}'
        loads = []
        for r in range(repeat + 1):                          # the first load warms the browser and the OS file cache
            d.get('about:blank'); d.get(url)
            while d.execute_script("return document.body.dataset.ready") != '1': time.sleep(0.02)
            loads.append(d.execute_script('return window.featvizExplorer.loadMs'))
        print(f"load to first draw: median {statistics.median(loads[1:]):.0f} ms (min {min(loads[1:]):.0f}, max {max(loads[1:]):.0f}, "
              f"{repeat} loads after 1 warm-up; navigation start to the first drawn frame, measured by the page)")
        med, lo, hi, _ = d.execute_script(REDRAW_JS, 9)
        print(f"full redraw of {d.execute_script('return window.featvizExplorer.n'):,} points: median {med:.1f} ms (min {lo:.1f}, max {hi:.1f})")
        lat = d.execute_script(LATENCY_JS, 50)
        print(f"hover handler: median {lat['hover']:.2f} ms (max {lat['hover_max']:.2f}); click handler (select + {10}-image "
              f"neighbour list): median {lat['click']:.2f} ms (max {lat['click_max']:.2f}); {lat['hits']}/50 hovers found a point")
        ms = d.execute_script(COLOUR_SEARCH_JS)
        print(f"colour by neighbour agreement (computed on first use + redraw): {ms[0]:.1f} ms; by isolation (ranked on first use "
              f"+ redraw): {ms[1]:.1f} ms; back to class: {ms[2]:.1f} ms; search 'label:7' ({ms[4]:,} matches) + redraw: {ms[3]:.1f} ms")
        while d.execute_script('return performance.getEntriesByType("resource").length') < len(
                d.execute_script('return JSON.parse(document.getElementById("fv-meta").textContent).tiles.files')): time.sleep(0.05)
        d.execute_script('window.featvizExplorer.zoomTo(17, 64)')
        med, lo, hi, thumbs = d.execute_script(REDRAW_JS, 9)
        print(f"redraw at 64x zoom with thumbnails ({'drawn' if thumbs else 'NOT drawn'}): median {med:.1f} ms (min {lo:.1f}, max {hi:.1f})")
        d.execute_script('window.featvizExplorer.setLayer(1)')
        med, lo, hi, _ = d.execute_script('var t0 = performance.now(); window.featvizExplorer.setLayer(0); var a = performance.now() - t0;'
                                          'var t1 = performance.now(); window.featvizExplorer.setLayer(1); return [a, performance.now() - t1, 0, 0];')
        print(f"layer switch (decoded before): {med:.1f} ms and {lo:.1f} ms")
    finally:
        d.quit(); httpd.shutdown(); httpd.server_close()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='explorer70k', help='folder for the page and its tiles')
    ap.add_argument('--n', type=int, default=None, help='use the first N images only (default: all 70,000)')
    ap.add_argument('--repeat', type=int, default=5, help='page loads to time')
    a = ap.parse_args()
    (m, t_load) = timed(load_mnist)
    X = np.concatenate([m.x_train, m.x_test]); y = np.concatenate([m.y_train, m.y_test])
    if a.n: X, y = X[:a.n], y[:a.n]
    n = len(y)
    P = X.reshape(n, -1).astype(np.float32) / 255
    Z, t_pca = timed(lambda: pca_reduce(P, 50))
    R = P @ np.random.default_rng(0).normal(size=(784, 64)).astype(np.float32)
    maps = {'pixels': Z[:, :2], 'random projection': pca_reduce(R, 2)}
    print(f"{n:,} MNIST images: loaded in {t_load:.1f} s, pixels PCA-50 in {t_pca:.1f} s")
    nbs, dists = {}, {}
    for name, F in (('pixels', Z), ('random projection', R)):
        (nbs[name], dists[name]), t = timed(lambda: feature_neighbours(F, 10, n_jobs=1, return_distance=True))
        print(f"neighbours, layer {name!r} ({F.shape[1]}-d, k=10, scikit-learn NearestNeighbors, 1 job): {t:.1f} s")
    _, t_tiles = timed(lambda: sprite_tiles(X))
    print(f"sprite tiles (2048 px, PNG): {t_tiles:.1f} s")
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    score = np.random.default_rng(1).random(n)          # a stand-in label-issue score: the page carries one as the audit's would
    page, t_build = timed(lambda: build_explorer(out/'mnist70k.html', maps, X, y, m.classes, neighbours=nbs, distances=dists,
                                                 scores={'label-issue score': score},
                                                 title=f'MNIST, {n:,} images (stand-in maps)'))
    print(f"build_explorer with the neighbours and distances given (tiles + isolation + page): {t_build:.1f} s")
    sizes = explorer_files(page)
    tiles = {k: v for k, v in sizes.items() if k.endswith('.png')}
    print(f"files: page {sizes[page.name] / 1e6:.2f} MB, {len(tiles)} tiles {sum(tiles.values()) / 1e6:.2f} MB "
          f"(largest {max(tiles.values()) / 1e6:.2f} MB), total {sum(sizes.values()) / 1e6:.2f} MB")
    print(f"raw arrays in the page: coordinates {2 * 2 * n * 4 / 1e6:.2f} MB, neighbours {2 * n * 10 * 4 / 1e6:.2f} MB, "
          f"distances {2 * n * 10 / 1e6:.2f} MB, labels + isolation flags {3 * n / 1e6:.2f} MB, one score {2 * n / 1e6:.2f} MB "
          f"(base64 adds a third)")
    browser_numbers(page, a.repeat)

if __name__ == '__main__': main()
