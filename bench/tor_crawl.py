"""Benchmark: pages/s over the private Tor network.

    .venv/bin/python bench/tor_crawl.py [--pages 600] [--concurrency 4,16,32]

Starts the demo markets, a private Tor network with them as onion services, and Privoxy
(Debian) in front of the same Tor client. Every variant fetches the same listing pages:
Interdict's SOCKS5h handler and Scrapy-through-Privoxy at each concurrency, and a plain
sequential requests[socks] crawler, which is the baseline of the printed ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interdict.demo.catalog import Catalog  # noqa: E402
from interdict.demo.run import demo_markets, free_port  # noqa: E402
from interdict.tornet import TorNetwork, ports_free  # noqa: E402


def start_privoxy(workdir: Path, socks_port: int) -> tuple[subprocess.Popen, str]:
    if shutil.which("privoxy") is None:
        sys.exit("privoxy is not installed: apt-get install privoxy")
    port = free_port()
    conf = workdir / "privoxy.conf"
    conf.write_text(f"listen-address 127.0.0.1:{port}\nforward-socks5t / 127.0.0.1:{socks_port} .\n"
                    "toggle 0\nenable-remote-toggle 0\naccept-intercepted-requests 0\n"
                    "keep-alive-timeout 30\nmax-client-connections 512\nlogfile /dev/null\n")
    proc = subprocess.Popen(["privoxy", "--no-daemon", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(50):
        if not ports_free([port]):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"privoxy did not start: {proc.stderr.read().decode()}")


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(mode: str, urls_file: Path, concurrency: int, proxy: str, env: dict, helper: int | None = None) -> dict:
    helper_cpu = process_cpu(helper) if helper else 0.0
    out = subprocess.run([sys.executable, str(REPO / "bench" / "_fetch_worker.py"), mode, str(urls_file),
                          str(concurrency), proxy], capture_output=True, text=True, cwd=REPO, env=env, timeout=1800)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        sys.exit(f"{mode} run failed: {out.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["pages_per_s"] = result["pages"] / result["seconds"]
    if helper:  # Privoxy's own CPU belongs to its route
        result["cpu_seconds"] += process_cpu(helper) - helper_cpu
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--concurrency", default="4,16,32")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    catalog = Catalog()
    keys = [spec.key for spec in catalog.markets["sable"].listings[: args.pages]]
    workdir = Path(tempfile.mkdtemp(prefix="interdict-bench-"))
    ports = {"sable": free_port(), "vesper": free_port()}
    with demo_markets("127.0.0.1", ports, catalog.seed, 0):
        base = next(b for b in range(17100, 18100, 200) if ports_free(list(range(b, b + 100))))
        net = TorNetwork(services=ports, port_base=base, run_dir=workdir / "net")
        privoxy = None
        try:
            t0 = time.monotonic()
            net.start()
            net.wait_for_onion("sable")
            print(f"private Tor network up, first onion fetch after {time.monotonic() - t0:.1f} s", flush=True)
            privoxy, privoxy_url = start_privoxy(workdir, net.socks_port)
            onion = net.onion_hosts["sable"]
            urls_file = workdir / "urls.txt"
            urls_file.write_text("\n".join(f"http://{onion}/listing/{k}" for k in keys) + "\n")
            config = workdir / "bench.toml"
            config.write_text(f'[tor]\nsocks_url = "{net.socks_url}"\ncontrol_port = {net.control_port}\n'
                              f'[markets.bench]\nprofile = "sable"\ntransport = "tor"\nbase_urls = ["http://{onion}"]\n')
            env = {**os.environ, "INTERDICT_CONFIG": str(config)}
            worker("requests", urls_file, 1, net.socks_url, env)  # warm-up: circuits and descriptors
            results = [worker("requests", urls_file, 1, net.socks_url, env)]
            for level in levels:
                results.append(worker("interdict", urls_file, level, "", env))
                results.append(worker("privoxy", urls_file, level, privoxy_url, env, helper=privoxy.pid))
        finally:
            if privoxy:
                privoxy.terminate()
            net.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    baseline = results[0]["pages_per_s"]
    print(f"\n{args.pages} onion listing pages per run, private Tor network on loopback "
          f"(3 authorities, 4 relays, 1 onion service, 1 client)")
    print("CPU s: the crawler process, plus Privoxy on its route; the shared tor processes are not counted")
    print(f"{'route':<34}{'conc.':>6}{'pages':>7}{'pages/s':>9}{'CPU s':>7}{'× baseline':>12}")
    names = {"requests": "requests[socks] sequential (baseline)", "interdict": "Interdict SOCKS5h handler",
             "privoxy": "Scrapy via Privoxy -> Tor"}
    for r in results:
        print(f"{names[r['mode']]:<34}{r['concurrency']:>6}{r['pages']:>7}{r['pages_per_s']:>9.1f}"
              f"{r['cpu_seconds']:>7.1f}{r['pages_per_s'] / baseline:>12.2f}")
    print()
    for level in levels:
        ours = next(r for r in results if r["mode"] == "interdict" and r["concurrency"] == level)
        theirs = next(r for r in results if r["mode"] == "privoxy" and r["concurrency"] == level)
        print(f"concurrency {level}: Interdict / Privoxy = {ours['pages_per_s'] / theirs['pages_per_s']:.2f}× pages/s, "
              f"{ours['cpu_seconds'] / max(theirs['cpu_seconds'], 1e-9):.2f}× CPU (crawler, plus Privoxy for its route)")


if __name__ == "__main__":
    main()
