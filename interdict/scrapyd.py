"""Schedules that run on a Scrapyd server ([schedules.NAME] target = "scrapyd"): one Scrapyd
job per market, through its HTTP API (schedule.json, status.json). The crawl records its own
job in the store and holds its market there (crawlers.jobs), exactly as a local crawl does; the
run waits for its Scrapyd jobs and reports what those records say."""

from __future__ import annotations

import sys
import time
import uuid
from urllib.parse import urljoin

import requests

from config import Schedule, ScrapydSettings
from config import Settings as InterdictSettings
from index import StoreError, open_store


class ScrapydError(Exception):
    pass


class Scrapyd:
    def __init__(self, settings: ScrapydSettings):
        self.settings = settings
        self.base = settings.url.rstrip("/") + "/"
        self.auth = (settings.username, settings.password) if settings.username else None

    def _call(self, method: str, endpoint: str, **kwargs) -> dict:
        try:
            answer = requests.request(method, urljoin(self.base, endpoint), auth=self.auth,
                                      timeout=self.settings.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ScrapydError(f"Scrapyd at {self.base} is unreachable: {type(exc).__name__}") from None
        if answer.status_code == 401:
            raise ScrapydError(f"Scrapyd at {self.base} refused the credentials ([scrapyd] username, password)")
        try:
            body = answer.json()
        except ValueError:
            raise ScrapydError(f"Scrapyd at {self.base}: HTTP {answer.status_code}, not a JSON answer") from None
        if body.get("status") != "ok":
            raise ScrapydError(f"Scrapyd at {self.base}: {body.get('message', body)}".strip())
        return body

    def schedule(self, spider: str, job: str, spider_args: dict[str, str], settings: dict[str, str]) -> None:
        data = [("project", self.settings.project), ("spider", spider), ("jobid", job), *spider_args.items(),
                *(("setting", f"{k}={v}") for k, v in settings.items())]
        self._call("POST", "schedule.json", data=data)

    def state(self, job: str) -> str:
        """pending, running, finished, or "" when Scrapyd does not know the job."""
        return self._call("GET", "status.json", params={"job": job, "project": self.settings.project}).get(
            "currstate") or ""


def run_on_scrapyd(name: str, schedule: Schedule, config: InterdictSettings, store: str | None = None) -> int:
    """Start the schedule's crawls on Scrapyd, wait for them, report their recorded jobs."""
    scrapyd = Scrapyd(config.scrapyd)
    jobs: dict[str, str] = {}  # market -> Scrapyd job id
    try:
        for market in schedule.markets:
            job = uuid.uuid4().hex
            settings = {"INTERDICT_TRIGGER": f"schedule:{name}@scrapyd:{job}"}
            if store:
                settings["INTERDICT_STORE_PATH"] = store
            scrapyd.schedule(config.market(market).profile, job, {"market": market, "mode": schedule.mode}, settings)
            jobs[market] = job
            print(f"  {name}: {market}: Scrapyd job {job} on {scrapyd.base}", file=sys.stderr, flush=True)
        waiting = dict(jobs)
        while waiting:
            for market, job in list(waiting.items()):
                if scrapyd.state(job) in ("finished", ""):
                    del waiting[market]
            if waiting:
                time.sleep(config.scrapyd.poll_interval)
    except ScrapydError as exc:
        print(f"  {name}: error: {exc}", file=sys.stderr, flush=True)
        return 1
    return _report(name, jobs, config, store)


def _report(name: str, jobs: dict[str, str], config: InterdictSettings, store: str | None) -> int:
    failed = 0
    try:
        with open_store(config, store) as db:
            for market, job in jobs.items():
                trigger = f"schedule:{name}@scrapyd:{job}"
                record = next((j for j in db.jobs(market=market, limit=50) if j.trigger == trigger), None)
                if record is None:
                    failed += 1
                    log = f"logs/{config.scrapyd.project}/{config.market(market).profile}/{job}.log"
                    print(f"  {name}: {market}: Scrapyd job {job} recorded no crawl (skipped or not started: see "
                          f"its log on Scrapyd, {log})",
                          file=sys.stderr, flush=True)
                    continue
                failed += record.status != "finished"
                print(f"  {name}: {market}: {record.status}, {record.pages} pages, {record.listings} listings "
                      f"({record.listings_new} new){f' — {record.reason}' if record.reason else ''}",
                      file=sys.stderr, flush=True)
    except StoreError as exc:
        print(f"  {name}: the crawls ran on Scrapyd, but their records cannot be read: {exc}", file=sys.stderr)
        return 1
    return 1 if failed else 0
