"""A queue's series over ranges of days: minute snapshots and hourly roll-ups read as one.

Snapshots are seeded every 10 minutes over 40 days (with two silences), then the hourly
retention job rolls the ones past MONITOR_RAW_RETENTION_DAYS into SnapshotHour rows, as it
does in production. Every answer is compared with the maxima computed here, per step, from
the seeded snapshots themselves: a step read from hourly rows must agree with one read
from the snapshots, so the series has no seam at the roll-up boundary.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from monitoring.models import Service
from monitoring.ranges import EPOCH
from queues.models import Queue, Snapshot, SnapshotHour
from queues.retention import roll_up_snapshots
from tests.alert_fixtures import People

NOW = datetime.now(UTC).replace(second=30, microsecond=0)
SPACING = timedelta(minutes=10)
# The queue did not report in these: the series must show them as missing steps, not zeros.
SILENCES = [
    (NOW - timedelta(days=20), NOW - timedelta(days=19)),
    (NOW - timedelta(minutes=45), NOW - timedelta(minutes=15)),
]
ROLLED_BEFORE = NOW - timedelta(days=14)


def seeded_values(count: int) -> list[tuple[int, int, int, float | None]]:
    rng = random.Random(13)
    return [
        (
            rng.randint(0, 5000),
            rng.randint(0, 40),
            rng.randint(0, 300),
            None if rng.random() < 0.1 else rng.uniform(0, 900),
        )
        for _ in range(count)
    ]


@pytest.fixture
def seeded(db: None) -> tuple[Queue, list[Snapshot]]:
    queue = Queue.objects.create(service=Service.objects.create(name="mail"), name="email_queue")
    moments = [NOW - SPACING * i for i in range(40 * 24 * 6)]
    moments = [m for m in moments if not any(start <= m < end for start, end in SILENCES)]
    rows = [
        Snapshot(queue=queue, at=at, depth=d, in_flight=f, dead_letter=dl, oldest_age_s=age)
        for at, (d, f, dl, age) in zip(moments, seeded_values(len(moments)), strict=True)
    ]
    kept = [
        Snapshot(**{f: getattr(row, f) for f in ("at", "depth", "in_flight", "dead_letter", "oldest_age_s")})
        for row in rows
    ]
    Snapshot.objects.bulk_create(rows)
    with time_machine.travel(NOW, tick=False):
        roll_up_snapshots()
    # The oldest snapshots now live only as hourly rows, the rest as they were taken.
    assert SnapshotHour.objects.filter(queue=queue).count() > 24 * 20
    assert not Snapshot.objects.filter(at__lt=ROLLED_BEFORE - timedelta(hours=1)).exists()
    return queue, kept


def expected(snapshots: list[Snapshot], answer: dict) -> list[dict]:
    """Per step of the answer's range, the maxima of the seeded snapshots in it."""
    start, end = (datetime.fromisoformat(answer[key]) for key in ("from", "to"))
    step = timedelta(seconds=answer["step_s"])
    steps: dict[datetime, dict] = {}
    for s in snapshots:
        if not start <= s.at < end:
            continue
        slot = EPOCH + ((s.at - EPOCH) // step) * step
        point = steps.setdefault(
            slot, {"depth": 0, "in_flight": 0, "dead_letter": 0, "oldest_age_s": None, "samples": 0}
        )
        point["depth"] = max(point["depth"], s.depth)
        point["in_flight"] = max(point["in_flight"], s.in_flight)
        point["dead_letter"] = max(point["dead_letter"], s.dead_letter)
        if s.oldest_age_s is not None:
            point["oldest_age_s"] = max(point["oldest_age_s"] or 0.0, s.oldest_age_s)
        point["samples"] += 1
    return [{"at": slot, **steps[slot]} for slot in sorted(steps)]


def answered(points: list[dict]) -> list[dict]:
    return [{**p, "at": datetime.fromisoformat(p["at"]), "oldest_age_s": p["oldest_age_s"]} for p in points]


def read(client: Client, queue: Queue, query: str) -> dict:
    with time_machine.travel(NOW, tick=False):
        answer = client.get(f"/api/v1/queues/{queue.id}/series?{query}")
    assert answer.status_code == 200, answer.content
    return answer.json()


def assert_matches(answer: dict, snapshots: list[Snapshot]) -> None:
    want = expected(snapshots, answer)
    got = answered(answer["points"])
    assert [p["at"] for p in got] == [p["at"] for p in want]
    for mine, theirs in zip(got, want, strict=True):
        assert {k: mine[k] for k in ("depth", "in_flight", "dead_letter", "samples")} == {
            k: theirs[k] for k in ("depth", "in_flight", "dead_letter", "samples")
        }, mine["at"]
        assert mine["oldest_age_s"] == pytest.approx(theirs["oldest_age_s"]), mine["at"]
    assert len(got) <= 750


@pytest.mark.parametrize(
    ("range_", "step_s", "span"),
    [
        ("1h", 60, timedelta(hours=1)),
        ("6h", 60, timedelta(hours=6)),
        ("24h", 300, timedelta(hours=24)),
        ("7d", 3600, timedelta(days=7)),
        ("30d", 3600, timedelta(days=30)),
    ],
)
def test_each_range_reads_the_most_each_step_showed(
    people: People, seeded: tuple[Queue, list[Snapshot]], range_: str, step_s: int, span: timedelta
) -> None:
    queue, snapshots = seeded
    answer = read(people.viewer.client, queue, f"range={range_}")
    assert answer["step_s"] == step_s
    start, end = datetime.fromisoformat(answer["from"]), datetime.fromisoformat(answer["to"])
    # The range ends with the step holding now, and spans what it names.
    assert start <= NOW < end and end - start == span
    assert_matches(answer, snapshots)


def test_30_days_cross_the_roll_up_boundary_without_a_seam(
    people: People, seeded: tuple[Queue, list[Snapshot]]
) -> None:
    queue, snapshots = seeded
    answer = read(people.viewer.client, queue, "range=30d")
    moments = [datetime.fromisoformat(p["at"]) for p in answer["points"]]
    # Hours on both sides of the boundary, each with its six snapshots, except in the silences.
    around = [m for m in moments if ROLLED_BEFORE - timedelta(hours=6) <= m < ROLLED_BEFORE + timedelta(hours=6)]
    assert len(around) == 12
    assert {
        p["samples"]
        for p in answer["points"]
        if ROLLED_BEFORE - timedelta(hours=6) <= datetime.fromisoformat(p["at"]) < ROLLED_BEFORE + timedelta(hours=5)
    } == {6}
    # The day-long silence twenty days ago is a gap of 24 missing hours, not zeros.
    silent = [m for m in moments if SILENCES[0][0] <= m < SILENCES[0][1] - timedelta(hours=1)]
    assert silent == []


def test_an_hour_shows_a_silence_as_missing_minutes(people: People, seeded: tuple[Queue, list[Snapshot]]) -> None:
    queue, snapshots = seeded
    answer = read(people.viewer.client, queue, "range=1h")
    moments = [datetime.fromisoformat(p["at"]) for p in answer["points"]]
    # A snapshot every 10 minutes, none for the 30 minutes of silence.
    assert len(moments) == 3
    assert all(not SILENCES[1][0] <= m < SILENCES[1][1] for m in moments)


@pytest.mark.parametrize(
    ("ago_from", "ago_to", "step_s"),
    [
        (timedelta(days=16), timedelta(days=12), 3600),  # across the boundary, by the hour
        (timedelta(days=14, hours=6), timedelta(days=13, hours=18), 3600),  # under a day, but reaching past minutes
        (timedelta(days=39), timedelta(0), 86400),  # past a month: by the day
        (timedelta(hours=3), timedelta(hours=1), 60),
    ],
)
def test_from_to_picks_its_step_and_reads_both_tables(
    people: People, seeded: tuple[Queue, list[Snapshot]], ago_from: timedelta, ago_to: timedelta, step_s: int
) -> None:
    queue, snapshots = seeded
    start, end = (NOW - ago_from).isoformat(), (NOW - ago_to).isoformat()
    answer = read(people.viewer.client, queue, f"from={start.replace('+', '%2B')}&to={end.replace('+', '%2B')}")
    assert answer["step_s"] == step_s
    assert (
        datetime.fromisoformat(answer["from"])
        <= NOW - ago_from
        < datetime.fromisoformat(answer["from"]) + timedelta(seconds=step_s)
    )
    assert_matches(answer, snapshots)


def test_minutes_alone_still_answers_every_snapshot(people: People, seeded: tuple[Queue, list[Snapshot]]) -> None:
    queue, snapshots = seeded
    answer = read(people.viewer.client, queue, "minutes=120")
    assert answer["minutes"] == 120 and answer["step_s"] is None
    since = NOW.replace(second=0) - timedelta(minutes=119)  # whole minutes, the one holding now last
    assert [datetime.fromisoformat(p["at"]) for p in answer["points"]] == sorted(
        s.at for s in snapshots if s.at >= since
    )
    assert {p["samples"] for p in answer["points"]} == {1}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("range=2y", "range"),
        ("from=yesterday", "from"),
        ("from=2026-11-20T10:00:00", "from"),
        ("to=2026-11-20T10:00:00Z", "from"),
    ],
)
def test_a_range_it_cannot_read_is_refused_naming_the_parameter(
    people: People, seeded: tuple[Queue, list[Snapshot]], query: str, field: str
) -> None:
    queue, _ = seeded
    answer = people.viewer.get(f"/api/v1/queues/{queue.id}/series?{query}")
    assert answer.status_code == 422
    assert field in answer.content.decode()


def test_every_role_reads_and_anonymous_is_refused(
    people: People, seeded: tuple[Queue, list[Snapshot]], client: Client
) -> None:
    queue, _ = seeded
    url = f"/api/v1/queues/{queue.id}/series?range=24h"
    assert client.get(url).status_code == 401
    for person in (people.viewer, people.responder, people.admin):
        assert person.get(url).status_code == 200
    token = people.token_for(people.viewer)
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert people.viewer.get("/api/v1/queues/999999/series?range=1h").status_code == 404
