"""Crawls run on cron schedules from the config ([schedules.NAME]); `interdict schedule`
(interdict/commands/crawling.py) starts them.

Each run is a child `interdict crawl` process, or a Scrapyd job per market (target =
"scrapyd", interdict.scrapyd), so a crash of one crawl never takes the scheduler down; every
crawl holds its market (crawlers.jobs), which keeps two runs of one market apart whoever
started them — another schedule, an operator, a second scheduler."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

from config import Schedule, cron_trigger
from interdict.stopping import sigterm_as_interrupt


def _say(line: str) -> None:
    """One write per line: schedules run in threads, and print() writes the text and its
    newline apart, so two schedules firing together could splice their lines."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def crawl_command(name: str, schedule: Schedule, config) -> list[str]:
    """The crawl a schedule starts, with the configuration file this scheduler runs with."""
    return [sys.executable, "-m", "interdict.cli", *(["--config", config.source] if config.source else []), "crawl",
            *schedule.markets, "--mode", schedule.mode, "--trigger", f"schedule:{name}"]


def run_once(name: str, schedule: Schedule, config, store: str | None = None) -> int:
    """One run of a schedule; what the crawl said goes to the scheduler's stderr."""
    started = datetime.now(UTC)
    _say(f"{started:%Y-%m-%d %H:%M:%S}.{started.microsecond // 1000:03d} schedule {name}: {schedule.mode} crawl of "
         f"{', '.join(schedule.markets)}{' on Scrapyd' if schedule.target == 'scrapyd' else ''}")
    if schedule.target == "scrapyd":
        from interdict.scrapyd import run_on_scrapyd

        code = run_on_scrapyd(name, schedule, config, store)
    else:
        command = crawl_command(name, schedule, config) + (["--store", store] if store else [])
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        for line in proc.stderr.splitlines():
            if line.startswith(tuple(f"{m}: " for m in schedule.markets)) or line.startswith("interdict: "):
                _say(f"  {name}: {line}")
        code = proc.returncode
    _say(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} schedule {name}: exit {code}")
    return code


def run_schedules(config, store: str | None, stop_after: float | None) -> None:
    """Every configured schedule, each run when its time comes, until interrupted (or for
    ``stop_after`` seconds); a crawl under way finishes first."""
    from apscheduler.schedulers.background import BackgroundScheduler

    # A run still going when its next time comes is not started twice (max_instances=1);
    # missed times while the host was down collapse into one run (coalesce).
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True,
                                                                "misfire_grace_time": 3600})
    for name, schedule in config.schedules.items():
        scheduler.add_job(run_once, cron_trigger(schedule.cron, schedule.timezone),
                          args=[name, schedule, config, store], id=name, name=name)
    scheduler.start()
    for job in scheduler.get_jobs():
        _say(f"schedule {job.id}: next run {job.next_run_time:%Y-%m-%d %H:%M:%S %Z}")
    stop = threading.Event()
    with sigterm_as_interrupt():
        try:
            stop.wait(stop_after)  # None: until interrupted
        except KeyboardInterrupt:
            pass
        finally:
            scheduler.shutdown(wait=True)  # a crawl under way finishes and is recorded
