"""GET /metrics: a real scrape, parsed by prometheus_client's parser, shows what was ingested;
its counters never go back, whatever the fold and retention do; promtool accepts it."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.module_loading import import_string
from prometheus_client.parser import text_string_to_metric_families
from time_machine import TimeMachineFixture

from alerts.models import Alert, Channel, Delivery
from monitoring import retention, totals
from monitoring.models import CallTotal, Function, UserToken
from queues.models import Queue
from resilience_site.periodic import JOBS
from tests.alert_fixtures import People
from tests.conftest import Reporter, call, now_iso
from tests.servers import find_binary, missing


def scrape(people: People) -> str:
    _, raw = UserToken.issue(user=people.viewer.user, scope="metrics:read")
    answer = Client().get("/metrics", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.content.decode()


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted label pairs): value} of every sample in the scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def fn(function: str, **more: str) -> tuple:
    return tuple(sorted({"service": "payments", "function": function, **more}.items()))


def report_calls(reporter: Reporter) -> None:
    calls = [call("charge", duration_ms=0.5)] * 3 + [call("charge", duration_ms=40.0, retries=2)] * 2
    calls += [call("charge", "failure", duration_ms=1200.0), call("charge", "timeout", duration_ms=30000.0)]
    calls += [call("refund", "rejected", duration_ms=0.02)]
    assert reporter.post({"calls": calls}).status_code == 202


def test_a_scrape_shows_the_calls_reported(people: People, reporter: Reporter) -> None:
    report_calls(reporter)
    found = samples(scrape(people))

    assert found[("resilience_calls_total", fn("charge", outcome="success"))] == 5
    assert found[("resilience_calls_total", fn("charge", outcome="failure"))] == 1
    assert found[("resilience_calls_total", fn("charge", outcome="timeout"))] == 1
    assert found[("resilience_calls_total", fn("charge", outcome="rejected"))] == 0
    assert found[("resilience_calls_total", fn("refund", outcome="rejected"))] == 1
    assert found[("resilience_call_retries_total", fn("charge"))] == 4
    # The histogram: cumulative under each bound (seconds), everything under +Inf.
    histogram = {
        labels["le"]: value
        for (name, pairs), value in found.items()
        if name == "resilience_call_duration_seconds_bucket" and (labels := dict(pairs))["function"] == "charge"
    }
    under = {float(le): count for le, count in histogram.items() if le != "+Inf"}
    assert under[min(under)] == 3  # the 0.5 ms calls, under the ~1 ms bound
    assert [count for bound, count in sorted(under.items()) if 0.04 < bound < 0.06] == [5]
    assert [count for bound, count in sorted(under.items()) if 2.4 < bound < 2.6] == [6]
    assert max(under.values()) == 6 and histogram["+Inf"] == 7  # 30 s is past the largest bound
    assert found[("resilience_call_duration_seconds_count", fn("charge"))] == 7
    assert found[("resilience_call_duration_seconds_sum", fn("charge"))] == pytest.approx(
        (3 * 0.5 + 2 * 40.0 + 1200.0 + 30000.0) / 1000
    )


def test_gauges_show_breakers_concurrency_queues_alerts_and_deliveries(people: People, reporter: Reporter) -> None:
    ts = now_iso()
    batch = {
        "instance": "pod-1",
        "breakers": [{"function": "charge", "state": "open", "ts": ts}],
        "concurrency": [{"function": "charge", "active": 3, "limit": 10, "queued": 2, "ts": ts}],
        "queues": [{"queue": "email", "ts": ts, "depth": 120, "in_flight": 4, "dead_letter": 2, "oldest_age_s": 31.5}],
    }
    assert reporter.post(batch).status_code == 202
    assert reporter.post({**batch, "instance": "pod-2", "breakers": [{**batch["breakers"][0], "state": "half_open"}]})
    alert = Alert.objects.create(
        fingerprint="x", service="payments", subject="charge", metric="error_rate", severity="critical", threshold=0.1
    )
    channel = Channel.objects.create(name="ops log", kind="log", config={})
    Delivery.objects.create(alert=alert, channel=channel, event="firing")

    found = samples(scrape(people))
    assert found[("resilience_breaker_state", fn("charge", instance="pod-1"))] == 1
    assert found[("resilience_breaker_state", fn("charge", instance="pod-2"))] == 2
    assert found[("resilience_concurrency_active", fn("charge", instance="pod-1"))] == 3
    assert found[("resilience_concurrency_limit", fn("charge", instance="pod-1"))] == 10
    assert found[("resilience_concurrency_queued", fn("charge", instance="pod-1"))] == 2
    queue = (("queue", "email"), ("service", "payments"))
    assert Queue.objects.count() == 1
    assert found[("resilience_queue_depth", queue)] == 120
    assert found[("resilience_queue_in_flight", queue)] == 4
    assert found[("resilience_queue_dead_letters", queue)] == 2
    assert found[("resilience_queue_oldest_age_seconds", queue)] == 31.5
    assert found[("resilience_alerts_open", (("severity", "critical"), ("state", "firing")))] == 1
    assert found[("resilience_alerts_open", (("severity", "low"), ("state", "acknowledged")))] == 0
    assert found[("resilience_deliveries", (("state", "pending"),))] == 1
    assert found[("resilience_deliveries", (("state", "dead"),))] == 0


def test_refused_batches_are_counted_by_reason(people: People, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call(duration_ms=-1)]}).status_code == 422
    found = samples(scrape(people))
    assert found[("resilience_ingest_refused_batches_total", (("reason", "invalid"), ("service", "payments")))] == 1


def test_counters_never_go_back_across_folds_and_roll_ups(
    people: People, reporter: Reporter, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(timezone.now())
    report_calls(reporter)
    before = samples(scrape(people))

    # Folded into the totals: the same figures.
    time_machine.move_to(timezone.now() + timedelta(minutes=12))
    assert totals.fold() == 2
    assert samples(scrape(people)) == before
    time_machine.move_to(timezone.now() + timedelta(minutes=1))
    assert totals.fold() == 0

    # Past raw retention the buckets are rolled into hours: the counters stay.
    time_machine.move_to(timezone.now() + timedelta(days=30))
    assert retention.roll_up_calls() > 0
    assert samples(scrape(people)) == before

    # New calls add to them.
    assert reporter.post({"calls": [call("charge", duration_ms=0.5)]}).status_code == 202
    after = samples(scrape(people))
    assert after[("resilience_calls_total", fn("charge", outcome="success"))] == 6
    assert Function.objects.count() == 2


def test_a_scrape_reads_again_when_a_fold_lands_between_its_reads(
    people: People, reporter: Reporter, time_machine: TimeMachineFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    time_machine.move_to(timezone.now())
    report_calls(reporter)
    totals.mark()
    time_machine.move_to(timezone.now() + timedelta(minutes=12))
    read_buckets = totals.bucket_sums
    folds = []

    def fold_after_reading(*args: object) -> dict:
        read = read_buckets(*args)
        if not folds:  # the first read is the scrape's: a fold commits right after it
            folds.append(0)
            folds[0] = totals.fold()
        return read

    monkeypatch.setattr(totals, "bucket_sums", fold_after_reading)
    counted = totals.current()
    assert folds == [2]
    charge = Function.objects.get(name="charge").id
    assert counted[charge].success == 5 and counted[charge].calls == 7


def test_promtool_accepts_a_real_scrape(people: People, reporter: Reporter) -> None:
    promtool = find_binary("promtool")
    if promtool is None:
        missing("promtool is not installed (Debian package prometheus)")
    report_calls(reporter)
    assert reporter.post({"calls": [call('say "hi" \\ bye')]}).status_code == 202
    text = scrape(people)
    assert 'function="say \\"hi\\" \\\\ bye"' in text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""


def test_the_totals_have_a_column_per_bin() -> None:
    assert CallTotal.BINS == len(totals.EDGES) + 1 == len(totals.BINS)
    assert {f.name for f in CallTotal._meta.get_fields()} >= set(totals.BINS)


def test_the_periodic_job_folds_every_minute(
    people: People, reporter: Reporter, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(timezone.now())
    report_calls(reporter)
    before = samples(scrape(people))
    task, every = JOBS["fold-call-totals"]
    assert every == 60.0
    time_machine.move_to(timezone.now() + timedelta(minutes=12))
    import_string(task)()  # what the embedded scheduler calls; beat sends the same task
    charge = Function.objects.get(name="charge")
    assert CallTotal.objects.get(function=charge).success == 5
    assert samples(scrape(people)) == before
