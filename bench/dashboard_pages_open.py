#!/usr/bin/env python3
"""The controller's pass time and memory with no dashboard page open, then with five open.

A stack of REPLICAS sleeping replicas on the private test dockerd; the controller repairs
KILLS killed replicas in each phase. Pass time is the mean of
reconcile_controller_pass_duration_seconds over the phase's passes; memory is the
controller's VmRSS at the end of the phase. An open page is a live-update stream whose
reader fetches the page again on every change event, as the page's script does.
"""
import argparse
import http.client
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(base):
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    total = float(re.search(r"^reconcile_controller_pass_duration_seconds_sum\S* (\S+)$", text, re.M).group(1))
    count = float(re.search(r"^reconcile_controller_pass_duration_seconds_count\S* (\S+)$", text, re.M).group(1))
    return total, count


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def docker(host, *args):
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, check=True).stdout


def page_reader(port, path, stop, fetched):
    try:
        read_pages(port, path, stop, fetched)
    except OSError:
        pass  # the controller stopped at the end of the run


def read_pages(port, path, stop, fetched):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/events")
    response = connection.getresponse()
    buffer = b""
    while not stop.is_set():
        chunk = response.fp.read1(4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if b"event: change" in event:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
                fetched[0] += 1
    connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reconcile", required=True)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=20)
    args = parser.parse_args()
    host = os.environ["RECONCILE_TEST_DOCKER_HOST"]
    project = "dashbench-" + uuid.uuid4().hex[:6]
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "compose.yaml")
    with open(path, "w") as f:
        f.write(f"""name: {project}
services:
  web:
    image: reconcile-test/busybox:1
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    deploy:
      replicas: {args.replicas}
""")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(folder, "controller.log"), "w")
    controller = subprocess.Popen([args.reconcile, "controller", "-f", path, "--host", host, "--listen", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(base + "/readyz", timeout=5).status == 200:
                    break
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.3)

        def running(name):
            return docker(host, "inspect", "-f", "{{.State.Running}}", name).strip() == "true"

        def phase(label):
            total0, count0 = metrics(base)
            for index in range(args.kills):
                name = f"{project}-web-{index % args.replicas + 1}"
                docker(host, "kill", name)
                deadline = time.time() + 30
                while time.time() < deadline and not running(name):
                    time.sleep(0.05)
                time.sleep(0.3)
            total1, count1 = metrics(base)
            passes = count1 - count0
            mean = (total1 - total0) / passes * 1000 if passes else 0
            print(f"{label}: {int(passes)} passes, mean pass {mean:.1f} ms, controller RSS {rss_mb(controller.pid):.1f} MB", flush=True)
            return mean, rss_mb(controller.pid)

        base_mean, base_rss = phase("no page open")
        stop = threading.Event()
        fetched = [0]
        readers = [threading.Thread(target=page_reader, args=(port, p, stop, fetched), daemon=True)
                   for p in ("/", "/", "/timeline", "/plan", "/")]
        for reader in readers:
            reader.start()
        time.sleep(1)
        open_mean, open_rss = phase("five pages open")
        stop.set()
        print(f"pages fetched by the five open pages: {fetched[0]}")
        print(f"pass time {open_mean / base_mean * 100 - 100:+.1f} % (target within 10 %), memory {open_rss - base_rss:+.1f} MB (target +50 MB)"
              if base_mean else "no passes measured")
    finally:
        controller.terminate()
        controller.wait(30)
        ids = docker(host, "ps", "-aq", "--filter", f"label=io.reconcile.project={project}").split()
        if ids:
            docker(host, "rm", "-f", *ids)
        for label in (f"io.reconcile.project={project}", f"io.reconcile.history={project}"):
            volumes = docker(host, "volume", "ls", "-q", "--filter", f"label={label}").split()
            if volumes:
                docker(host, "volume", "rm", "-f", *volumes)
        networks = docker(host, "network", "ls", "-q", "--filter", f"label=io.reconcile.project={project}").split()
        if networks:
            docker(host, "network", "rm", *networks)


if __name__ == "__main__":
    main()
