#!/usr/bin/env python3
"""The controller's dashboard in a real browser (scripts/test-dashboard-browser runs it).

A fixture stack (two services, three revisions recorded by `reconcile apply` with validation
figures, one of them rolled back) on the private test dockerd; `reconcile controller` serves
it on a free loopback port; headless Chromium (Debian's, offline driver) loads every page.
Each check prints `ok NAME` or `FAILED NAME: why`; the last line is `N passed, M failed`.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException

RESULTS = []


def check(name, body):
    started = time.monotonic()
    try:
        # A live update may swap <main> while a check reads it (the page is doing its job):
        # an element read across that swap is stale, and the check reads the new page again.
        for attempt in range(3):
            try:
                body()
                break
            except StaleElementReferenceException:
                if attempt == 2:
                    raise
    except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
        RESULTS.append((name, False))
        print(f"FAILED {name}: {error}", flush=True)
        return
    RESULTS.append((name, True))
    print(f"ok {name} ({time.monotonic() - started:.1f} s)", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_for(condition, seconds, interval=0.05):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SECRET = "canary-" + uuid.uuid4().hex
TOKEN = "token-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def report(accuracy, p99):
    passed = accuracy >= 0.9
    return json.dumps({
        "accuracy": accuracy, "passed": passed,
        "batches": [{"p50Ms": round(p99 / 3, 2), "p99Ms": p99, "rowsPerSecond": 4000 * accuracy}],
        "checks": [{"name": "min_accuracy", "threshold": 0.9, "value": accuracy, "passed": passed}],
    })


def manifest(project, greeting, accuracy, p99):
    code = 0 if accuracy >= 0.9 else 1
    return f"""name: {project}
services:
  web:
    image: reconcile-test/busybox:1
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    environment:
      GREETING: "{greeting}"
      API_KEY: "{SECRET}"
    deploy:
      replicas: 2
    x-reconcile:
      secret_env: [API_KEY]
      validate:
        mode: job
        image: reconcile-test/busybox:1
        command:
          - sh
          - -c
          - |
            echo '{report(accuracy, p99)}'; exit {code}
        min_accuracy: 0.9
        on_failure: rollback
  db:
    image: reconcile-test/busybox:2
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
"""


class Fixture:
    def __init__(self, reconcile, host):
        self.reconcile = reconcile
        self.host = host
        self.project = "dash-" + uuid.uuid4().hex[:6]
        self.dir = tempfile.mkdtemp(prefix="reconcile-browser-")
        self.path = os.path.join(self.dir, "compose.yaml")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.controller = None
        self.log = os.path.join(self.dir, "controller.log")
        self.token_file = os.path.join(self.dir, "token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def run(self, *args, check=True):
        env = dict(os.environ, NO_COLOR="1")
        done = subprocess.run([self.reconcile, *args, "-f", self.path, "--host", self.host], env=env, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise RuntimeError(f"reconcile {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done

    def start_controller(self):
        env = dict(os.environ, NO_COLOR="1")
        self.log_file = open(self.log, "w")
        self.controller = subprocess.Popen(
            [self.reconcile, "controller", "-f", self.path, "--host", self.host, "--listen", f"127.0.0.1:{self.port}", "--heartbeat", "1s",
             "--resync", "2s", "--token-file", self.token_file],
            env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        ready = wait_for(lambda: self.get("/readyz", quiet=True) == 200, 60, 0.2)
        expect(ready, "controller not ready within 60 s:\n" + self.tail())

    def get(self, path, quiet=False, token=True):
        try:
            with urllib.request.urlopen(urllib.request.Request(self.base + path, headers=AUTH if token else {}), timeout=10) as response:
                return response.status
        except Exception as error:  # noqa: BLE001
            if quiet:
                return getattr(error, "code", None)
            raise

    def text(self, path):
        with urllib.request.urlopen(urllib.request.Request(self.base + path, headers=AUTH), timeout=10) as response:
            return response.read().decode()

    def docker(self, *args):
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, check=True, timeout=60).stdout

    def tail(self):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-40:])
        except OSError:
            return ""

    def close(self):
        if self.controller:
            self.controller.terminate()
            try:
                self.controller.wait(20)
            except subprocess.TimeoutExpired:
                self.controller.kill()
        # Everything the project made, then its history volumes: only what this test created.
        try:
            ids = self.docker("ps", "-aq", "--filter", f"label=io.reconcile.project={self.project}").split()
            if ids:
                self.docker("rm", "-f", *ids)
            jobs = self.docker("ps", "-aq", "--filter", f"label=io.reconcile.validation={self.project}").split()
            if jobs:
                self.docker("rm", "-f", *jobs)
            for label in (f"io.reconcile.project={self.project}", f"io.reconcile.history={self.project}"):
                volumes = self.docker("volume", "ls", "-q", "--filter", f"label={label}").split()
                if volumes:
                    self.docker("volume", "rm", "-f", *volumes)
            networks = self.docker("network", "ls", "-q", "--filter", f"label=io.reconcile.project={self.project}").split()
            if networks:
                self.docker("network", "rm", *networks)
        except Exception as error:  # noqa: BLE001
            print(f"cleanup of {self.project}: {error}", file=sys.stderr)


def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    # The page's viewport, not the window, is 1280x900: what the screenshots show.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    driver.set_page_load_timeout(30)
    # The controller runs with a token file: every request of the page (fetch and EventSource too) bears it.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": AUTH})
    return driver


def audit(driver, page):
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    violations = results["violations"]
    expect(not violations, f"{page}: {len(violations)} axe violations: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in violations))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reconcile", required=True)
    parser.add_argument("--screenshots", default="docs/dashboard")
    args = parser.parse_args()
    host = os.environ["RECONCILE_TEST_DOCKER_HOST"]
    os.makedirs(args.screenshots, exist_ok=True)

    fixture = Fixture(args.reconcile, host)
    driver = None
    try:
        def setup():
            # Three applies: two applied, the middle one failing validation and rolled back.
            for greeting, accuracy, p99 in (("hello", 0.95, 12.0), ("hallo", 0.62, 30.5), ("bonjour", 0.97, 10.8)):
                fixture.write(manifest(fixture.project, greeting, accuracy, p99))
                done = fixture.run("apply", "--yes", check=accuracy >= 0.9)
                expect(accuracy >= 0.9 or done.returncode != 0, "a failing validation did not fail apply")
            fixture.start_controller()

        check("fixture: three applies (one rolled back) and a controller on a free loopback port", setup)
        if not RESULTS[-1][1]:
            print(f"0 passed, {len(RESULTS)} failed")
            return 1
        driver = browser()
        base = fixture.base

        pages = {
            "overview": ("/", "Overview"),
            "revisions": ("/revisions", "Revisions"),
            "revision": ("/revisions/1", "Revision 1"),
            "diff": ("/revisions/1/diff/3", "Revision 1 → 3"),
            "figures": ("/figures", "Figures across revisions"),
            "plan": ("/plan", "Pending plan"),
            "timeline": ("/timeline", "Timeline"),
        }

        def dom():
            for name, (path, heading) in pages.items():
                driver.get(base + path)
                h1 = driver.find_element(By.TAG_NAME, "h1").text
                expect(h1.startswith(heading), f"{path}: h1 {h1!r}, expected {heading!r}")
                expect(SECRET not in driver.page_source, f"{path} shows the secret value")
                expect(driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Sections]"), f"{path}: no navigation")
            driver.get(base + "/")
            rows = driver.find_elements(By.CSS_SELECTOR, "#services tbody tr")
            expect(len(rows) == 2, f"overview: {len(rows)} service rows")
            web = driver.find_element(By.ID, "service-web").text
            expect("2" in web and "✓ converged" in web, f"overview web row: {web!r}")
            replica = driver.find_element(By.ID, f"container-{fixture.project}-web-1").text
            expect("▶ running" in replica and "✓ up to date" in replica, f"replica row: {replica!r}")
            expect("✓ ready" in driver.find_element(By.ID, "readiness").text, "not ready")
            expect("revision 3" in driver.find_element(By.ID, "current-revision").text, "current revision")
            driver.get(base + "/revisions")
            revisions = [r.get_attribute("id") for r in driver.find_elements(By.CSS_SELECTOR, "#revisions tbody tr")]
            expect(revisions == ["revision-3", "revision-2", "revision-1"], f"revisions: {revisions}")
            expect("↺ rolled back" in driver.find_element(By.ID, "revision-2").text, "revision 2 not marked rolled back")
            expect("★" in driver.find_element(By.ID, "revision-3").text, "current not marked")
            driver.get(base + "/revisions/1/diff/3")
            diff = driver.find_element(By.ID, "diff").text
            cli = fixture.run("diff", "1", "3").stdout.strip()
            expect(diff.strip() == cli, f"diff page {diff!r} differs from `reconcile diff 1 3` {cli!r}")
            driver.get(base + "/figures")
            charts = driver.find_elements(By.CSS_SELECTOR, "section.chart svg[role=img]")
            expect(len(charts) >= 3, f"{len(charts)} charts")
            expect(driver.find_elements(By.CSS_SELECTOR, "section.chart svg line[stroke-dasharray]"), "no threshold line")
            expect(driver.find_elements(By.CSS_SELECTOR, "section.chart svg path"), "no failed or rolled-back marker")

        check("the DOM of every page", dom)

        def api_pairs():
            for path, args in (("/api/history", ["history"]), ("/api/history/2", ["history", "2"]), ("/api/diff/1/3", ["diff", "1", "3"]),
                               ("/api/plan", ["plan"]), ("/api/status", ["status"])):
                cli = fixture.run(*args, "--output", "json").stdout
                api = fixture.text(path)
                expect(SECRET not in api, f"{path} shows the secret value")
                if path == "/api/status":
                    # Both observe: compare what they say about the replicas.
                    expect(json.loads(api)["services"] == json.loads(cli)["services"], f"{path} differs from reconcile {' '.join(args)}")
                else:
                    expect(api == cli, f"{path} differs from `reconcile {' '.join(args)} --output json`")

        check("each /api route prints what the matching command prints with --output json", api_pairs)

        def no_secret():
            for path in ("/api/timeline", "/api/controller", "/status", "/metrics", "/revisions/2", "/revisions/2/diff/3", "/figures", "/timeline"):
                expect(SECRET not in fixture.text(path), f"{path} shows the secret value")

        check("no secret value in any page, JSON, metric or timeline event", no_secret)

        def accessibility():
            for name, (path, _) in pages.items():
                driver.get(base + path)
                audit(driver, path)

        check("axe finds no accessibility violation on any page", accessibility)

        def screenshots():
            for name, (path, _) in pages.items():
                driver.get(base + path)
                driver.save_screenshot(os.path.join(args.screenshots, f"{name}.png"))
            expect(all(os.path.getsize(os.path.join(args.screenshots, f"{n}.png")) > 10_000 for n in pages), "empty screenshot")

        check("screenshots at 1280x900", screenshots)

        def keyboard():
            driver.get(base + "/")
            body = driver.find_element(By.TAG_NAME, "body")
            body.send_keys(Keys.TAB)
            active = driver.switch_to.active_element
            expect(active.text == "Skip to content", f"first tab stop: {active.text!r}")
            active.send_keys(Keys.ENTER)
            expect(wait_for(lambda: driver.switch_to.active_element.get_attribute("id") == "main", 2), "skip link does not move focus to main")
            driver.get(base + "/")
            driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
            order = []
            for _ in range(6):
                driver.switch_to.active_element.send_keys(Keys.TAB)
                order.append(driver.switch_to.active_element.text)
            expect(order[:5] == ["Overview", "Revisions", "Figures", "Pending plan", "Timeline"], f"tab order: {order}")
            # Enter on a focused link follows it; the current page is marked for assistive technology.
            driver.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
            driver.switch_to.active_element.send_keys(Keys.ENTER)
            expect(wait_for(lambda: driver.current_url.endswith("/timeline"), 5), f"Enter did not follow the link: {driver.current_url}")
            current = driver.find_element(By.CSS_SELECTOR, "a[aria-current=page]").text
            expect(current == "Timeline", f"aria-current on {current!r}")

        check("keyboard navigation: skip link, tab order, Enter follows links", keyboard)

        def live():
            driver.get(base + "/")
            expect(wait_for(lambda: "on" in driver.find_element(By.ID, "live-status").text, 5), "live updates never connected")
            name = f"{fixture.project}-web-1"

            def state():
                try:
                    return driver.execute_script(
                        "var r = document.getElementById(arguments[0]); return r ? r.getAttribute('data-state') : null;", "container-" + name)
                except Exception:  # noqa: BLE001 - the row is being replaced
                    return None

            expect(state() == "running", f"before: {state()}")
            killed = time.monotonic()
            fixture.docker("kill", name)
            down = wait_for(lambda: state() not in ("running", None), 5, 0.02)
            seen_down = time.monotonic() - killed
            up = wait_for(lambda: state() == "running", 5, 0.02)
            seen_up = time.monotonic() - killed
            print(f"   kill shown after {seen_down:.2f} s, repair after {seen_up:.2f} s", flush=True)
            expect(down, f"the killed replica never showed as down ({state()})\n" + fixture.tail())
            expect(seen_down <= 2.0, f"the kill showed after {seen_down:.2f} s")
            expect(up and seen_up <= 2.0, f"the repair showed after {seen_up:.2f} s")

        check("live update: a killed replica and its repair show within 2 s without reload", live)

        def heartbeat_and_bound():
            connection = http.client.HTTPConnection("127.0.0.1", fixture.port, timeout=10)
            connection.request("GET", "/events", headers=AUTH)
            response = connection.getresponse()
            expect(response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream"), "events stream")
            started = time.monotonic()
            seen = b""
            while time.monotonic() - started < 3.5 and seen.count(b": heartbeat") < 2:
                seen += response.fp.read1(4096) if hasattr(response.fp, "read1") else response.read(1)
            expect(seen.count(b": heartbeat") >= 2, f"heartbeats in 3.5 s: {seen!r}")
            streams = [connection]
            refused = None
            for _ in range(40):
                c = http.client.HTTPConnection("127.0.0.1", fixture.port, timeout=10)
                c.request("GET", "/events", headers=AUTH)
                r = c.getresponse()
                if r.status == 503:
                    refused = len(streams)
                    c.close()
                    break
                streams.append(c)
            expect(refused is not None and refused <= 16, f"live-update clients not bounded (refused at {refused})")
            for c in streams:
                c.close()
            # Closed streams free their slots.
            expect(wait_for(lambda: _events_status(fixture.port) == 200, 10, 0.2), "slots not freed after clients left")

        check("live updates: heartbeat, and a bounded number of clients", heartbeat_and_bound)

        def token():
            for path in ("/", "/api/status", "/events", "/status"):
                expect(fixture.get(path, quiet=True, token=False) == 401, f"{path} without the token")
            expect(fixture.get("/healthz", token=False) == 200, "/healthz needs no token")
            expect(TOKEN not in open(fixture.log).read(), "the token is in the controller's log")

        check("with a token file, every page needs the token (401 without)", token)

        def env(name):
            out = fixture.docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", name)
            return [line for line in out.splitlines() if line.startswith("GREETING=")]

        def greetings():
            try:
                return [env(f"{fixture.project}-web-{n}") for n in (1, 2)]
            except Exception:  # noqa: BLE001 - a replica being replaced
                return None

        def rollback():
            driver.get(base + "/revisions/1")
            driver.find_element(By.LINK_TEXT, "Roll back to revision 1…").click()
            expect(driver.find_element(By.TAG_NAME, "h1").text == "Roll back to revision 1", "no confirmation page")
            plan = driver.find_element(By.ID, "plan").text
            expect("recreate" in plan and "GREETING" in plan, f"the confirmation shows no plan: {plan!r}")
            expect(SECRET not in driver.page_source, "the plan shows the secret value")
            audit(driver, "/actions/rollback/1")
            driver.save_screenshot(os.path.join(args.screenshots, "rollback.png"))
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            def held():
                modes = driver.find_elements(By.ID, "mode")
                return modes and "holding revision 1" in modes[0].text
            expect(wait_for(held, 10), f"overview does not say the revision is held: {driver.current_url} {driver.page_source[:600]}")
            back = wait_for(lambda: greetings() == [["GREETING=hello"], ["GREETING=hello"]], 60, 0.3)
            expect(back, f"not rolled back: {greetings()}\n" + fixture.tail())
            # Several resync passes later the revision still holds.
            passes = json.loads(fixture.text("/api/controller"))["passes"]
            expect(wait_for(lambda: json.loads(fixture.text("/api/controller"))["passes"] >= passes + 3, 30, 0.3), "no resync passes")
            expect(greetings() == [["GREETING=hello"], ["GREETING=hello"]], f"the rollback did not hold: {greetings()}")
            history = json.loads(fixture.text("/api/history"))
            expect(history["revisions"][-1]["command"] == "rollback to 1" and history["revisions"][-1]["rollbackOf"] == 1,
                   f"history: {history['revisions'][-1]['command']}")
            # The manifest changes: it is in force again.
            fixture.write(manifest(fixture.project, "salut", 0.97, 10.0))
            edited = wait_for(lambda: greetings() == [["GREETING=salut"], ["GREETING=salut"]], 60, 0.3)
            expect(edited, f"the edit after a rollback was not applied: {greetings()}\n" + fixture.tail())
            expect(json.loads(fixture.text("/api/controller")).get("heldRevision") is None, "still holding after the edit")

        check("a rollback from the page shows its plan, holds through resyncs, and yields to a manifest edit", rollback)

        def controller_alive():
            expect(fixture.controller.poll() is None, "controller exited:\n" + fixture.tail())
            expect(fixture.get("/readyz") == 200, "not ready at the end")

        check("the controller is still running and ready", controller_alive)
    finally:
        if driver:
            driver.quit()
        fixture.close()

    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def _events_status(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/events", headers=AUTH)
        return c.getresponse().status
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
