"""The report site in a real browser: headless Chromium (driven by selenium) opens every page of a site built from
quick-mode executed notebooks, served over HTTP on 127.0.0.1. Skipped only when Chromium is not installed
(`apt-get install -y chromium chromium-driver`; `.ci/run` installs it and sets FEATVIZ_REQUIRE_BROWSER=1)."""
import os, shutil, threading, time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from conftest import headless_chromium
import yaml
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell

from featviz.cli import run_study
from featviz.report.site import build_site, page_defects, read_sidebar

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
CHROMEDRIVER = shutil.which('chromedriver')

# A self-contained interactive figure: two SVG points, a tooltip shown on hover, a click counter. It follows the
# markup the generic check below relies on (data-featviz-interactive / -point / -tooltip).
WIDGET = '''<div id="fv-check" data-featviz-interactive style="position:relative;width:220px">
<svg width="200" height="100" viewBox="0 0 200 100">
<circle data-featviz-point data-label="seven" cx="50" cy="50" r="12" fill="#1f77b4"></circle>
<circle data-featviz-point data-label="three" cx="140" cy="50" r="12" fill="#ff7f0e"></circle>
</svg>
<div data-featviz-tooltip style="position:absolute;display:none;background:#222;color:#fff;padding:2px 6px"></div>
<p>clicks: <span data-featviz-clicks>0</span></p>
</div>
<script>
(function () {
  var root = document.getElementById('fv-check');
  var tip = root.querySelector('[data-featviz-tooltip]'), clicks = root.querySelector('[data-featviz-clicks]');
  root.querySelectorAll('[data-featviz-point]').forEach(function (pt) {
    pt.addEventListener('mouseover', function () {
      tip.textContent = pt.getAttribute('data-label');
      tip.style.left = pt.getAttribute('cx') + 'px'; tip.style.top = '0px'; tip.style.display = 'block';
    });
    pt.addEventListener('mouseout', function () { tip.style.display = 'none'; });
    pt.addEventListener('click', function () { clicks.textContent = String(Number(clicks.textContent) + 1); });
  });
})();
</script>'''

CHECK_NB = [new_markdown_cell('# Browser check\n\n> A page the browser test adds to the site: a figure and an interactive output.'),
            new_code_cell('import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 2)); plt.plot([0, 1, 4]);'),
            new_code_cell(f'from IPython.display import HTML\nHTML({WIDGET!r})')]

# Generic check for any interactive figure on a page: hover its first point, is its tooltip visible?
HOVER_JS = '''
return Array.from(document.querySelectorAll('[data-featviz-interactive]')).map(function (el) {
  var pt = el.querySelector('[data-featviz-point]'), tip = el.querySelector('[data-featviz-tooltip]');
  if (!pt || !tip) return {id: el.id, error: 'no [data-featviz-point] or no [data-featviz-tooltip] inside'};
  pt.dispatchEvent(new MouseEvent('mouseover', {bubbles: true, cancelable: true, view: window}));
  var st = getComputedStyle(tip);
  return {id: el.id, visible: st.display !== 'none' && st.visibility !== 'hidden' && tip.getClientRects().length > 0,
          text: tip.textContent};
});'''

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The project's notebooks copied, a quick-mode subset executed with `run_study`, plus the check page; built."
    if not (CHROMIUM and CHROMEDRIVER):
        msg = 'Chromium / chromedriver not installed: apt-get install -y chromium chromium-driver'
        if os.environ.get('FEATVIZ_REQUIRE_BROWSER') == '1': pytest.fail(msg + ' (FEATVIZ_REQUIRE_BROWSER=1)')
        pytest.skip(msg)
    tmp = tmp_path_factory.mktemp('site')
    nbs = tmp/'nbs'
    shutil.copytree(ROOT/'nbs', nbs, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_*'))
    nbformat.write(new_notebook(cells=CHECK_NB), nbs/'99_browser_check.ipynb')
    sidebar = yaml.safe_load((nbs/'sidebar.yml').read_text())
    sidebar['website']['sidebar']['contents'].append({'section': 'Test', 'contents': ['99_browser_check.ipynb']})
    (nbs/'sidebar.yml').write_text(yaml.safe_dump(sidebar, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        for k in [k for k in os.environ if k.startswith('FEATVIZ_')]: mp.delenv(k)
        mp.setenv('FEATVIZ_CACHE', str(tmp/'cache')); mp.setenv('FASTAI_HOME', str(tmp/'fastai'))
        t0 = time.perf_counter()
        log = run_study(nbs, 'quick', only=['00', '99', 'index'], out=lambda s: None)
        t_run = time.perf_counter() - t0
    assert log['ok'], log['failed']
    t0 = time.perf_counter()
    pages = build_site(nbs, tmp/'out')
    print(f"\nsite: ran {len(log['notebooks'])} notebooks in {t_run:.1f} s, built {len(pages)} pages in {time.perf_counter() - t0:.1f} s")
    return dict(nbs=nbs, out=tmp/'out', pages=pages)

@pytest.fixture(scope='module')
def server(site):
    "The site over HTTP on 127.0.0.1, a free port, from a thread."
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(Quiet, directory=str(site['out'])))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()

@pytest.fixture(scope='module')
def browser(site, tmp_path_factory):
    driver = headless_chromium(tmp_path_factory.mktemp('chromium'), CHROMIUM, CHROMEDRIVER)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()

def _open(browser, url):
    browser.get(url)
    for _ in range(100):
        if browser.execute_script('return document.readyState') == 'complete': break
        time.sleep(0.05)
    return [e for e in browser.get_log('browser') if e['level'] == 'SEVERE']

def test_every_page(site, server, browser):
    "Each page loads with its title, every image decodes, no console errors, and the sidebar links every chapter."
    chapters = {p for item in read_sidebar(site['nbs']) for p in item.pages()}
    assert {'index.html', 'baseline.html', 'foundation/report/site.html', 'browser_check.html'} <= chapters
    n_images = {}
    for page in site['pages']:
        errors = _open(browser, server + page.page)
        assert errors == [], f'{page.page}: console errors {errors}'
        assert page_defects((site['out']/page.page).read_text(), page.page, site['out']) == [], page.page
        assert browser.title.startswith(page.title), (page.page, browser.title)
        assert browser.execute_script("return document.querySelector('main.fv-content h1') !== null"), page.page
        imgs = browser.execute_script("return Array.from(document.images).map(i => [i.currentSrc.slice(0, 40), i.complete, i.naturalWidth])")
        assert all(ok and w > 0 for _, ok, w in imgs), f'{page.page}: images that did not load {imgs}'
        n_images[page.page] = len(imgs)
        links = browser.execute_script(
            "return Array.from(document.querySelectorAll('nav.fv-sidebar a')).map(a => a.href)")
        linked = {l.removeprefix(server) for l in links}
        assert chapters <= linked, f'{page.page}: sidebar misses {chapters - linked}'
        active = browser.execute_script("return Array.from(document.querySelectorAll('nav.fv-sidebar a.active')).map(a => a.href)")
        if page.page in chapters: assert active == [server + page.page], page.page
    assert n_images['browser_check.html'] >= 1 and n_images['baseline.html'] >= 1   # the image check has work to do

def test_home_page_answers_on_its_first_screen(site, server, browser):
    "Issue 21: at 1280 x 1000 the home page's first screen holds the verdicts' summary and one figure, above the chapter table."
    browser.set_window_size(1280, 1000)
    assert _open(browser, server + 'index.html') == []
    inner = browser.execute_script("return window.innerHeight")
    tops = browser.execute_script("""
        const top = el => el ? el.getBoundingClientRect().top : null;
        const p = Array.from(document.querySelectorAll('main p')).find(e => /^Of the \\d+ claims|Run the study to fill in the verdicts/.test(e.textContent));
        const h = Array.from(document.querySelectorAll('main h2')).find(e => e.textContent.startsWith('Chapters'));
        return {summary: top(p), figure: top(document.querySelector('main img')), chapters: top(h)};""")
    assert tops['summary'] is not None and tops['summary'] < inner, tops
    assert tops['figure'] is not None and tops['figure'] < inner, tops
    assert tops['chapters'] > tops['figure'], tops

def test_the_defect_check_fails_on_seeded_pages(site, server, browser):
    "A test of the test: a page seeded with each defect a reader must not see is caught, one finding per defect."
    seeded = {'| export': '<h2>| export</h2>', 'Quarto': '<p>source{target="_blank"}</p>',
              'template': '<pre>Markdown(f"""{x}""")</pre>',
              'alt text': '<img alt="No description has been provided for this image" src="data:,">',
              'dead link': '<a href="no-such-page.html">x</a>'}
    for what, html in seeded.items():
        page = f"seeded-{len(html)}.html"
        (site['out']/page).write_text(f'<!DOCTYPE html><html><head><title>s</title></head><body><h1>S</h1>{html}</body></html>')
        _open(browser, server + page)
        found = page_defects(browser.page_source, page, site['out'])
        assert len(found) == 1, (what, found)

def test_interactive_output_responds(site, server, browser):
    "The check page's inline-script figure reacts to a real hover and click."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    assert _open(browser, server + 'browser_check.html') == []
    tip = browser.find_element(By.CSS_SELECTOR, '#fv-check [data-featviz-tooltip]')
    assert not tip.is_displayed()
    point = browser.find_elements(By.CSS_SELECTOR, '#fv-check [data-featviz-point]')[1]
    ActionChains(browser).move_to_element(point).click().perform()
    assert tip.is_displayed() and tip.text == 'three'
    assert browser.find_element(By.CSS_SELECTOR, '#fv-check [data-featviz-clicks]').text == '1'

def test_every_interactive_figure_shows_its_tooltip(site, server, browser):
    "Any `data-featviz-interactive` element on any page: hovering its first point shows its tooltip."
    checked = []
    for page in site['pages']:
        _open(browser, server + page.page)
        for r in browser.execute_script(HOVER_JS):
            assert 'error' not in r and r['visible'] and r['text'].strip(), (page.page, r)
            checked.append((page.page, r['id']))
    assert ('browser_check.html', 'fv-check') in checked
