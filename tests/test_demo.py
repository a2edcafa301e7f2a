from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from monitoring.models import Breaker, CallBucket, Concurrency, IngestToken, Service
from queues.models import Snapshot
from resilience_site.demo import SERVICE_NAMES, Demo


@pytest.mark.django_db(transaction=True)
def test_it_reports_all_three_services_and_the_email_queue(live_site: str) -> None:
    tokens = {name: IngestToken.issue(service=Service.objects.create(name=name))[1] for name in SERVICE_NAMES}
    # From t=100 s into the cycle: charge_card failing, invokeGroq down on two instances,
    # email_queue backing up. Eight times the usual rate, so four seconds show it.
    demo = Demo(live_site, tokens, rate=8, start_at=100)
    demo.run(seconds=4)
    stats = demo.close(timeout=10)
    assert (stats["dropped"], stats["pending"], stats["failed"]) == (0, 0, 0)

    reported = set(CallBucket.objects.values_list("function__service__name", "function__name"))
    assert reported == {
        ("payments", "charge_card"),
        ("payments", "refund"),
        ("ai-gateway", "invokeGroq"),
        ("ai-gateway", "invokeOpenAI"),
        ("ai-gateway", "embed"),
        ("notifications", "send_email"),
        ("notifications", "send_sms"),
    }
    charge = CallBucket.objects.filter(function__name="charge_card")
    assert sum(b.failure for b in charge) > 0.2 * sum(b.calls for b in charge)

    breakers = dict(Breaker.objects.filter(function__name="invokeGroq").values_list("instance", "state"))
    assert set(breakers) == {"gateway-a1", "gateway-b2", "gateway-c3", "gateway-d4"}
    assert "open" in (breakers["gateway-a1"], breakers["gateway-b2"])
    assert (breakers["gateway-c3"], breakers["gateway-d4"]) == ("closed", "closed")

    # embed's limit has 9 of 10 slots taken on one instance: at "Concurrency near its limit".
    gauges = Concurrency.objects.filter(function__name="embed")
    assert max(gauge.active / gauge.limit for gauge in gauges) >= 0.9

    depths = list(Snapshot.objects.filter(queue__name="email_queue").order_by("at").values_list("depth", flat=True))
    assert len(depths) >= 2
    assert depths[-1] > depths[0]


@pytest.mark.django_db(transaction=True)
def test_it_runs_one_service_part_from_the_command_line(live_site: str) -> None:
    _, token = IngestToken.issue(service=Service.objects.create(name="notifications"))
    out = StringIO()
    call_command("demo", url=live_site, token=token, service="notifications", seconds=2, rate=4, stdout=out)

    assert "dropped 0" in out.getvalue()
    assert set(CallBucket.objects.values_list("function__name", flat=True)) == {"send_email", "send_sms"}
    assert Snapshot.objects.filter(queue__name="email_queue", queue__service__name="notifications").exists()
