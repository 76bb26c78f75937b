#!/usr/bin/env python3
"""The page of `quill serve` in a real, headless Chromium, driven by Selenium (`make browser-test`).

Starts `quill serve` on a free loopback port (or uses --url), loads the page, types a sentence, presses Write and
waits for the drawing to finish; checks that the page's SVG holds one path per stroke of the `done` event, that the
SVG, PNG and PDF download links hold those formats (their blob URLs fetched in the page, magic bytes checked), that
Tab reaches every control with a visible focus ring and Space on the focused Write button writes, that an API error
is shown naming its field, and that a 375 px wide window has no horizontal scrolling. It times --writes writes
(seeds 1…N) from the click on Write to the first path element in the SVG (a MutationObserver), to the `done` event
and to the finished drawing, and prints the medians; a screenshot is saved in --out. The server is stopped however
the test ends. Exit status 0 when every check passes, 1 when one fails, 2 when it cannot run.

Needs chromium and chromium-driver (Debian packages) and Selenium; `make browser-test` installs them.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

SENTENCE = "Quill writes by hand on an ordinary CPU."   # 40 characters, as the load test's line
REQUIRED_CONTROLS = ["text", "style", "bias", "seed", "color", "width", "speed", "write", "new-seed",
                     "dl-svg", "dl-png", "dl-pdf", "window-line"]
MAGIC = {"svg": None, "png": bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "pdf": b"%PDF-"}

# Installed once per page load: times (performance.now(), ms) of the click on Write, of the first path element
# added to the SVG after it, and of the page reaching data-state="done" (the line drawn to its end).
OBSERVER_JS = """
const t = window.__quillTest = {click: null, first: null, finished: null};
document.getElementById('write').addEventListener('click', () => {
  t.click = performance.now(); t.first = null; t.finished = null;
}, true);
const sheet = document.getElementById('sheet');
new MutationObserver(() => {
  if (t.click != null && t.first == null && sheet.querySelector('path')) t.first = performance.now();
}).observe(sheet, {childList: true, subtree: true});
new MutationObserver(() => {
  if (t.click != null && t.finished == null && document.body.dataset.state === 'done') t.finished = performance.now();
}).observe(document.body, {attributes: true, attributeFilter: ['data-state']});
"""

FETCH_BYTES_JS = """
const [href, done] = [arguments[0], arguments[arguments.length - 1]];
fetch(href).then(r => r.arrayBuffer()).then(b => {
  const bytes = new Uint8Array(b);
  done({size: bytes.length, head: Array.from(bytes.slice(0, 512))});
}).catch(e => done({error: String(e)}));
"""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def die_with_parent():
    """Run in the server's child process: the kernel sends it SIGTERM if this script dies (even by SIGKILL)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, server, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise Failure(f"quill serve exited with status {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if json.load(r).get("status") == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise Failure(f"quill serve did not answer {url}/healthz within {seconds} s")


def stop_server(server):
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def strokes_of(points):
    """The number of strokes in a line's [[x, y, end], ...]: the pen lifts after each point with end = 1."""
    count = sum(1 for p in points if p[2] == 1)
    return count + (1 if points and points[-1][2] != 1 else 0)


def make_driver(chromium, chromedriver, width, height):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", "--no-first-run",
                "--disable-extensions", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def wait_for(driver, script, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise Failure(f"timed out after {seconds} s waiting for {what}")


def set_value(driver, element_id, text):
    el = driver.find_element("id", element_id)
    el.clear()
    el.send_keys(text)


def write_once(driver, seed, timeout):
    """Sets the seed, clicks Write and waits until the downloads are ready; returns the timings in ms."""
    set_value(driver, "seed", str(seed))
    driver.find_element("id", "write").click()
    state = wait_for(driver, "const s = document.body.dataset.state; return (s === 'ready' || s === 'error') && s;",
                     timeout, f"the write with seed {seed} to finish")
    if state == "error":
        raise Failure(f"the write with seed {seed} failed: {driver.find_element('id', 'error').text}")
    t = driver.execute_script("return window.__quillTest")
    page = driver.execute_script("return window.quill.timings")
    check(t["click"] is not None and t["first"] is not None and t["finished"] is not None,
          f"the timings of seed {seed} are incomplete: {t}")
    return {"first": t["first"] - t["click"], "finished": t["finished"] - t["click"], "done": page.get("done")}


def check_sheet(driver):
    """The SVG holds one path per stroke of the done event, line by line, and no draft ink."""
    done = driver.execute_script("return window.quill.done")
    check(done is not None, "no done event was recorded")
    expected = {i: strokes_of(l["points"]) for i, l in enumerate(done["lines"]) if l is not None}
    found = driver.execute_script("""
      const out = {};
      for (const g of document.querySelectorAll('#sheet g[data-line]'))
        out[g.dataset.line] = g.querySelectorAll('path').length;
      return {lines: out, drafts: document.querySelectorAll('#sheet path.draft').length,
              total: document.querySelectorAll('#sheet path').length};""")
    check(found["drafts"] == 0, f"{found['drafts']} draft paths are left on the sheet")
    for i, n in expected.items():
        got = found["lines"].get(str(i), 0)
        check(got == n, f"line {i + 1}: the SVG has {got} paths, the done event {n} strokes")
    total = sum(expected.values())
    check(found["total"] == total, f"the SVG has {found['total']} paths, the done event {total} strokes")
    return total


def check_downloads(driver):
    sizes = {}
    for fmt, magic in MAGIC.items():
        link = driver.find_element("id", f"dl-{fmt}")
        href = link.get_attribute("href") or ""
        check(href.startswith("blob:"), f"the {fmt.upper()} link has no blob URL (href {href!r})")
        check((link.get_attribute("download") or "").endswith("." + fmt),
              f"the {fmt.upper()} link's download name is {link.get_attribute('download')!r}")
        got = driver.execute_async_script(FETCH_BYTES_JS, href)
        check("error" not in got, f"fetching the {fmt.upper()} link failed: {got.get('error')}")
        head = bytes(got["head"])
        if magic is None:
            check(b"<svg" in head, f"the SVG download does not start like an SVG: {head[:60]!r}")
        else:
            check(head.startswith(magic), f"the {fmt.upper()} download starts {head[:8]!r}, not {magic!r}")
        sizes[fmt] = got["size"]
    return sizes


def check_keyboard(driver):
    """Tab from the top reaches every control, each with a visible focus ring; Space on Write writes."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    # A click on the heading moves the sequential focus starting point to the top of the page.
    driver.execute_script("window.scrollTo(0, 0);")
    driver.find_element("css selector", "header h1").click()
    reached, unringed = [], []
    for _ in range(40):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        info = driver.execute_script("""
          const el = document.activeElement; if (!el || el === document.body) return null;
          const s = getComputedStyle(el);
          return {id: el.id, ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0};""")
        if info is None or (reached and info["id"] == reached[0]):
            break
        reached.append(info["id"])
        if not info["ring"]:
            unringed.append(info["id"])
    missing = [c for c in REQUIRED_CONTROLS if c not in reached]
    check(not missing, f"Tab did not reach {missing} (reached {reached})")
    check(not unringed, f"no visible focus ring on {unringed}")
    # Space on the focused Write button starts a write (keyboard operation, not timed).
    driver.execute_script("document.getElementById('write').focus();")
    ActionChains(driver).send_keys(Keys.SPACE).perform()
    wait_for(driver, "return document.body.dataset.state === 'ready' && window.__quillTest.finished != null;", 120,
             "the write started with Space on the Write button")
    return reached


def check_error_shown(driver):
    """A character the model cannot write: the API's error appears in the page, naming the field `text`."""
    set_value(driver, "text", "Stars ★ are not in the alphabet")
    driver.find_element("id", "write").click()
    wait_for(driver, "return document.body.dataset.state === 'error';", 30, "the page to show the API's error")
    box = driver.find_element("id", "error")
    check(box.is_displayed(), "the error box is not shown")
    check(box.text.startswith("text:") and len(box.text) > len("text: "),
          f"the error does not name the field text: {box.text!r}")
    check(driver.find_element("id", "text").get_attribute("aria-invalid") == "true",
          "the text box is not marked invalid")
    return box.text


def full_page_screenshot(driver, path, width, mobile=False):
    """Saves the whole page, `width` CSS px wide, however tall it is."""
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", dict(metrics, height=height))
    try:
        time.sleep(0.3)   # the heat maps redraw at the new size
        driver.save_screenshot(path)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def check_narrow(driver):
    """At 375 CSS px wide the page does not scroll sideways."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True})
    try:
        time.sleep(0.3)
        dims = driver.execute_script("""
          const d = document.documentElement;
          const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > d.clientWidth + 0.5)
                                                             .map(e => e.id || e.tagName.toLowerCase()).slice(0, 5);
          return {scroll: d.scrollWidth, client: d.clientWidth, inner: window.innerWidth, wide};""")
        check(dims["inner"] == 375, f"the narrow window is {dims['inner']} px wide, not 375")
        check(dims["scroll"] <= dims["client"],
              f"at 375 px the page scrolls sideways: {dims['scroll']} > {dims['client']} px ({dims['wide']})")
        return dims
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quill", default=".build/release/quill", help="the quill binary to serve with")
    ap.add_argument("--url", help="test a server already running here instead of starting one")
    ap.add_argument("--serve-args", default="", help="more options for quill serve")
    ap.add_argument("--writes", type=int, default=10, help="timed writes (seeds 1…N); medians are reported")
    ap.add_argument("--speed", default="1", choices=["1", "2", "4", "0"],
                    help="the page's Speed while timing: 1 = as written (50 points/s), 0 = at once")
    ap.add_argument("--style", help="the style to write in (default: the page's default, the model's default style)")
    ap.add_argument("--out", default=".build/browser-test", help="folder for the screenshots and the server log")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ap.add_argument("--screenshot-width", type=int, default=1000, help="CSS px width of the full-page screenshot")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()
    server, driver = None, None
    # SIGTERM and SIGHUP end the test as Ctrl-C does, so the `finally` below always stops the server.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if args.url:
            url = args.url.rstrip("/")
        else:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log = open(os.path.join(args.out, "serve.log"), "w")
            server = subprocess.Popen([args.quill, "serve", "--host", "127.0.0.1", "--port", str(port)]
                                      + args.serve_args.split(), stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True, preexec_fn=die_with_parent)
        wait_healthy(url, server, 120)
        driver = make_driver(args.chromium, args.chromedriver, 1280, 900)
        driver.set_script_timeout(60)
        driver.get(url + "/")
        wait_for(driver, "return document.getElementById('style').options.length > 0 && "
                         "!document.getElementById('model-info').textContent.includes('loading');",
                 30, "the page to load the model and styles")
        driver.execute_script(OBSERVER_JS)
        set_value(driver, "text", SENTENCE)
        driver.execute_script("document.getElementById('speed').value = arguments[0];", args.speed)
        if args.style is not None:
            styles = driver.execute_script("return [...document.getElementById('style').options].map(o => o.value);")
            check(args.style in styles, f"the page offers no style {args.style!r} (it offers {styles})")
            driver.execute_script("document.getElementById('style').value = arguments[0];", args.style)
        style = driver.execute_script("return document.getElementById('style').value;")

        times = [write_once(driver, seed, 180) for seed in range(1, args.writes + 1)]
        strokes = check_sheet(driver)
        sizes = check_downloads(driver)
        full_page_screenshot(driver, os.path.join(args.out, "page.png"), args.screenshot_width)
        reached = check_keyboard(driver)
        check_sheet(driver)
        dims = check_narrow(driver)
        full_page_screenshot(driver, os.path.join(args.out, "page-375.png"), 375, mobile=True)
        error = check_error_shown(driver)

        first = statistics.median(t["first"] for t in times)
        finished = statistics.median(t["finished"] for t in times)
        done = [t["done"] for t in times if t["done"] is not None]
        print(f"browser-test: ok in {time.monotonic() - started:.0f} s; {args.writes} writes of a "
              f"{len(SENTENCE)}-character line, style {style}, speed {args.speed}: click→first path median {first:.0f} ms "
              f"(min {min(t['first'] for t in times):.0f}, max {max(t['first'] for t in times):.0f}), "
              + (f"click→done event median {statistics.median(done):.0f} ms, " if done else "")
              + f"click→finished median {finished / 1000:.2f} s; {strokes} paths = {strokes} strokes; downloads "
              f"SVG {sizes['svg']} B, PNG {sizes['png']} B, PDF {sizes['pdf']} B ok; Tab reached "
              f"{len(reached)} controls; 375 px: no horizontal scroll ({dims['scroll']} px); error shown "
              f"({error!r}); screenshots {os.path.join(args.out, 'page.png')}, page-375.png")
        with open(os.path.join(args.out, "timings.json"), "w") as f:
            json.dump({"style": style, "speed": args.speed, "writes": times, "median_first_ms": first,
                       "median_done_ms": statistics.median(done) if done else None,
                       "median_finished_ms": finished}, f, indent=1)
        return 0
    except Failure as e:
        print(f"browser-test: FAILED: {e}")
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(args.out, "failure.png"))
            except Exception:
                pass
        return 1
    except KeyboardInterrupt:
        print("browser-test: interrupted")
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
