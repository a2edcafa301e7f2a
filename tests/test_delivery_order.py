"""A resolved notice never reaches a channel before the firing notice it closes."""

from __future__ import annotations

import pytest

from alerts import delivery, outbox
from alerts.models import Channel, Delivery
from tests.alert_fixtures import make_alert, make_rule
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None) -> Channel:
    return Channel.objects.create(
        name="ops hook", kind="webhook", config={"url": http_receiver.url(), "secret": "s" * 20}
    )


def test_it_holds_a_resolved_notice_until_the_firing_notice_is_sent(
    hook: Channel,
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(make_rule(hook))
    # Both rows wait in the outbox, as when the worker was down while the alert fired and cleared.
    firing, resolved = outbox.notify(alert.incident, "firing")[0], outbox.notify(alert.incident, "resolved")[0]

    assert delivery.send(resolved.id) == ""
    assert http_receiver.requests == []
    assert delivery.send(firing.id) == "sent"
    assert delivery.send(resolved.id) == "sent"
    events = [request.json()["event"] for request in http_receiver.requests]
    assert events == ["firing", "resolved"]


def test_the_sweep_sends_them_in_the_order_they_were_written(
    hook: Channel,
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(make_rule(hook))
    outbox.notify(alert.incident, "firing")
    outbox.notify(alert.incident, "resolved")
    delivery.sweep()
    assert [request.json()["event"] for request in http_receiver.requests] == ["firing", "resolved"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
