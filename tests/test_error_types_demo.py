"""The demo reports the error types a real service would, so its function pages show them."""

from __future__ import annotations

import pytest

from monitoring.models import CallBucket, ErrorMinute, IngestToken, Service
from resilience_site.demo import SERVICE_NAMES, Demo


@pytest.mark.django_db(transaction=True)
def test_the_demo_reports_realistic_error_types(live_site: str) -> None:
    tokens = {name: IngestToken.issue(service=Service.objects.create(name=name))[1] for name in SERVICE_NAMES}
    # From t=100 s into the cycle: charge_card failing, invokeGroq down on two instances.
    demo = Demo(live_site, tokens, rate=8, start_at=100)
    demo.run(seconds=4)
    demo.close(timeout=10)

    reported = set(ErrorMinute.objects.values_list("error_type__function__name", "error_type__name"))
    for expected in [
        ("charge_card", "BadGateway"),
        ("charge_card", "ConnectionResetError"),
        ("charge_card", "ReadTimeout"),  # reported as a timeout
        ("invokeGroq", "ServiceUnavailable"),
        ("invokeGroq", "BreakerOpen"),  # rejected by the open breaker
        ("send_email", "SMTPServerDisconnected"),
    ]:
        assert expected in reported
    read_timeouts = ErrorMinute.objects.filter(error_type__function__name="charge_card", error_type__name="ReadTimeout")
    charge = CallBucket.objects.filter(function__name="charge_card")
    assert sum(row.count for row in read_timeouts) == sum(bucket.timeout for bucket in charge)
