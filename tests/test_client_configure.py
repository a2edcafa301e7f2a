from __future__ import annotations

import inspect

import pytest

import resilience_client
from monitoring.models import Breaker
from resilience_client import CircuitBreaker, Reporter, config, configure, get_reporter, monitored
from resilience_client.reporter import Options
from tests.conftest import stored_calls


@pytest.mark.django_db(transaction=True)
def test_it_reports_through_the_default_reporter(live_site: str, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_default", None)

    @monitored("send_sms")
    @CircuitBreaker("send_sms")
    def send() -> str:
        return "queued"

    assert send() == "queued"  # no reporter configured yet: works, reports nothing
    first = configure(live_site, token, instance="notifier-1", flush_interval=0.1)
    assert get_reporter() is first
    assert send() == "queued"
    second = configure(live_site, token, instance="notifier-2", flush_interval=0.1)
    assert first.stats()["sent"] == 2  # the call and the breaker state; replaced: flushed and closed
    assert send() == "queued"
    assert second.flush(10)
    second.close()

    assert stored_calls(function__name="send_sms").success == 2
    # Used first with no reporter, the breaker told the first reporter it had.
    assert list(Breaker.objects.values_list("instance", "state")) == [("notifier-1", "closed")]
    assert resilience_client.get_reporter() is second


def test_configure_takes_every_option_a_reporter_takes() -> None:
    # configure()'s options are typed by reporter.Options, which must not fall behind.
    options = set(inspect.signature(Reporter).parameters) - {"url", "token"}
    assert set(Options.__annotations__) == options
