"""Benchmark: pages/s over the private Tor network.

    .venv/bin/python bench/tor_crawl.py [--pages 600] [--concurrency 4,16,32]
    .venv/bin/python bench/tor_crawl.py --pipeline [--concurrency 16,32] [--runs 3]

Starts the demo markets, a private Tor network with them as onion services, and Privoxy
(Debian) in front of the same Tor client. Every variant fetches the same listing pages:
Interdict's SOCKS5h handler and Scrapy-through-Privoxy at each concurrency, and a plain
sequential requests[socks] crawler, which is the baseline of the printed ratios.

--pipeline: the whole crawl instead. A real `interdict crawl` of the demo market 'sable' as
an onion service (parse, enrich, index into an embedded store, WARC evidence), the market's
concurrency raised to each level, timed until the process ends (the last listing searchable,
the WARC files closed); against Scrapy through Privoxy crawling the same market by following
its links with no pipelines (what ahmia-crawler does), the baseline. Runs alternate; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
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


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine so far: what every process used, Tor's included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(since: tuple[int, int]) -> float:
    """Cores busy on average since ``since`` (machine_jiffies): 2.0 is a 2-core machine saturated."""
    busy, total = machine_jiffies()
    return (busy - since[0]) / max(total - since[1], 1) * (os.cpu_count() or 1)


def worker(mode: str, urls_file: Path, concurrency: int, proxy: str, env: dict, helper: int | None = None) -> dict:
    helper_cpu = process_cpu(helper) if helper else 0.0
    machine = machine_jiffies()
    out = subprocess.run([sys.executable, str(REPO / "bench" / "_fetch_worker.py"), mode, str(urls_file),
                          str(concurrency), proxy], capture_output=True, text=True, cwd=REPO, env=env, timeout=1800)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        sys.exit(f"{mode} run failed: {out.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["pages_per_s"] = result["pages"] / result["seconds"]
    result["busy_cores"] = busy_cores(machine)
    if helper:  # Privoxy's own CPU belongs to its route
        result["cpu_seconds"] += process_cpu(helper) - helper_cpu
    return result


def full_crawl(workdir: Path, tor_config: str, onion: str, level: int, run: int) -> dict:
    """One `interdict crawl` of the onion market at this concurrency: pages, seconds, CPU s."""
    from config import load_config
    from index import open_store

    where = workdir / f"crawl-{level}-{run}"
    where.mkdir()
    config = where / "bench.toml"
    config.write_text(tor_config + f'[markets.bench]\nprofile = "sable"\ntransport = "tor"\n'
                      f'base_urls = ["http://{onion}"]\nconcurrency = {level}\ndelay = 0.0\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")},
           "INTERDICT_CONFIG": str(config), "INTERDICT_EVIDENCE__DIR": str(where / "evidence"),
           "INTERDICT_STORE__SPOOL_DIR": str(where / "spool"), "INTERDICT_CRAWL__STATE_DIR": str(where / "state")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = machine_jiffies()
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "interdict.cli", "crawl", "bench", "--store", str(where / "store.db")],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=1800)
    seconds = time.monotonic() - t0
    cores = busy_cores(machine)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        sys.exit(f"interdict crawl failed ({out.returncode}): {out.stderr[-2000:]}")
    with open_store(load_config(path=config, env={}), str(where / "store.db")) as store:
        job = store.jobs("bench", limit=1)[0]
        listings = store.count_listings()
    warcs = list((where / "evidence").glob("*.warc.gz"))
    return {"mode": "pipeline", "concurrency": level, "pages": job.pages, "listings": listings, "warc_files": len(warcs),
            "seconds": seconds, "pages_per_s": job.pages / seconds, "busy_cores": cores,
            "cpu_seconds": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}


def pipeline_runs(args, levels: list[int], net: TorNetwork, privoxy_url: str, privoxy_pid: int, workdir: Path) -> None:
    onion = net.onion_hosts["sable"]
    tor_config = f'[tor]\nsocks_url = "{net.socks_url}"\ncontrol_port = {net.control_port}\n'
    front = workdir / "front.txt"
    front.write_text(f"http://{onion}/\n")
    results: list[dict] = []
    worker("privoxy-crawl", front, levels[0], privoxy_url, dict(os.environ), helper=privoxy_pid)  # warm-up
    for run in range(args.runs):
        for level in levels:
            results.append(full_crawl(workdir, tor_config, onion, level, run))
            results.append(worker("privoxy-crawl", front, level, privoxy_url, dict(os.environ), helper=privoxy_pid))
    print(f"\nthe demo market 'sable' as an onion service, private Tor network on loopback; {args.runs} alternating "
          "runs, medians (each run's pages/s in brackets)")
    print("CPU s: the crawler process (not Interdict's page readers, children of a fork server), plus Privoxy "
          "for the baseline; busy cores: "
          f"the whole machine's (Tor relays, the market, everything) of {os.cpu_count()}")
    print(f"{'crawl':<46}{'conc.':>6}{'pages':>7}{'pages/s':>9}{'CPU s':>7}{'busy cores':>11}")
    names = {"pipeline": "Interdict: interdict crawl (whole pipeline)", "privoxy-crawl": "Scrapy via Privoxy (baseline)"}
    medians: dict[tuple[str, int], float] = {}
    for level in levels:
        for mode in ("pipeline", "privoxy-crawl"):
            runs = [r for r in results if r["mode"] == mode and r["concurrency"] == level]
            medians[mode, level] = statistics.median(r["pages_per_s"] for r in runs)
            each = ", ".join(f"{r['pages_per_s']:.1f}" for r in runs)
            print(f"{names[mode]:<46}{level:>6}{runs[0]['pages']:>7}{medians[mode, level]:>9.1f}"
                  f"{statistics.median(r['cpu_seconds'] for r in runs):>7.1f}"
                  f"{statistics.median(r['busy_cores'] for r in runs):>11.2f}  [{each}]")
    for level in levels:
        print(f"concurrency {level}: Interdict / baseline = {medians['pipeline', level] / medians['privoxy-crawl', level]:.2f}×")
    full = [r for r in results if r["mode"] == "pipeline"]
    print(f"every Interdict run indexed {min(r['listings'] for r in full)}–{max(r['listings'] for r in full)} listings "
          f"and closed {min(r['warc_files'] for r in full)}–{max(r['warc_files'] for r in full)} WARC file(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--concurrency", default=None, help="levels (default 4,16,32; with --pipeline 16,32)")
    parser.add_argument("--pipeline", action="store_true", help="whole crawls: interdict crawl against "
                        "Scrapy via Privoxy following links")
    parser.add_argument("--runs", type=int, default=3, help="with --pipeline: alternating runs (default 3)")
    args = parser.parse_args()
    levels = [int(c) for c in (args.concurrency or ("16,32" if args.pipeline else "4,16,32")).split(",")]
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
            if args.pipeline:
                pipeline_runs(args, levels, net, privoxy_url, privoxy.pid, workdir)
                return
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
