"""Silences in a real headless Chromium: a silence made on the page holds a firing alert's
notifications (a real local receiver hears nothing while it lasts), ends early with a
confirmation, and the pages read well in light, dark and on a phone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Dialog, Page

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Event, Incident, Silence
from tests.alert_fixtures import failures, make_rule
from tests.browser import log_in, make_user, screenshot
from tests.conftest import Reporter
from tests.receivers import HttpReceiver
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def fits(page: Page) -> None:
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} runs {overflow} px off the side"


def test_a_silence_made_on_the_page_holds_the_notifications(
    chromium: Browser,
    live_site: str,
    reporter: Reporter,
    http_receiver: HttpReceiver,
    no_defaults: None,
    notify_at_once: None,
) -> None:
    slack = Channel.objects.create(name="ops slack", kind="slack", config={"url": http_receiver.url("/slack")})
    make_rule(slack, cooldown_minutes=5)
    reporter.post({"calls": failures(10, "charge")})
    evaluate_all()
    charge = Alert.objects.get(subject="charge")
    # The receiver hears an unsilenced alert (if not, the failure says what became of it).
    heard = wait_or_explain(http_receiver)
    assert "charge" in heard[0].json()["text"]

    make_user("responder")
    page = log_in(chromium, live_site, "responder", timezone_id="America/New_York")
    page.goto("/silences/")
    page.wait_for_selector("#silences-empty >> text=No silence is active")
    page.click("text=New silence")
    page.wait_for_selector("#silence-form")
    assert page.input_value("#time_zone") == "America/New_York"  # the viewer's own zone to start with
    page.fill("#service", "payments")
    page.fill("#subject", "charge*")
    page.select_option("#time_zone", "Europe/Berlin")
    page.select_option("#minutes", "240")
    page.fill("#comment", "card provider incident")
    page.click("#preview-button")
    page.wait_for_selector("#preview-result >> text=Matches 1 open alert right now")
    assert page.locator(f'#preview-alerts tr[data-alert="{charge.id}"]').count() == 1
    screenshot(page, "silences/form-preview-light")
    page.click("button[type=submit] >> text=Create silence")
    page.wait_for_url("**/silences/?state=active")
    row = page.locator("#silences tbody tr")
    assert row.count() == 1
    assert "charge*" in row.inner_text() and "card provider incident" in row.inner_text()
    assert "Europe/Berlin" in row.inner_text()
    screenshot(page, "silences/list-light")

    silence = Silence.objects.get()
    assert silence.created_by.username == "responder"
    # Created on the page, the silence shows on the open alert at once.
    assert Alert.objects.get(id=charge.id).is_suppressed()
    # A reminder falls due, and another function under charge* fails: both are held.
    Incident.objects.filter(id=charge.incident_id).update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(created=timezone.now() - timedelta(hours=1))
    reporter.post({"calls": failures(10, "charge-eu") + failures(10, "refund")})
    evaluate_all()
    charge_eu = Alert.objects.get(subject="charge-eu")
    assert charge_eu.is_suppressed()
    # refund is outside the silence: its notice arrives; nothing about charge or charge-eu does.
    requests = http_receiver.wait_for(2)
    time.sleep(0.5)
    assert len(http_receiver.requests) == 2 and "refund" in requests[1].json()["text"]
    assert not Delivery.objects.filter(alert__in=[charge, charge_eu], created__gt=timezone.now() - timedelta(minutes=5))
    # Notices are the incident's: what was held is on each incident's timeline.
    held = charge_eu.incident.events.filter(action="notification held").values_list("detail", flat=True)
    assert [d.split(":")[0] for d in held] == ["firing"]
    assert charge.incident.events.filter(action="notification held", detail__startswith="reminder").exists()

    page.goto(f"/incidents/{charge_eu.incident_id}/")
    page.wait_for_selector("#timeline >> text=notification held")

    page.goto("/silences/")
    page.once("dialog", lambda dialog: accept_if_asked(dialog, f"End silence #{silence.id} now?"))
    page.click(f'tr[data-silence="{silence.id}"] button >> text=End now')
    page.wait_for_url("**/silences/?state=expired")
    page.wait_for_selector(f"text=Silence #{silence.id} ended.")
    assert Silence.objects.get().ends_at <= timezone.now()
    wait_until(lambda: not Alert.objects.get(id=charge_eu.id).is_suppressed())
    page.goto(f"/silences/{silence.id}/")
    page.wait_for_selector("#history >> text=responder ended it")


def wait_or_explain(receiver: HttpReceiver) -> list:
    try:
        return receiver.wait_for(1)
    except AssertionError as error:
        deliveries = list(Delivery.objects.values("state", "attempts", "last_error", "next_attempt_at"))
        events = list(Event.objects.values_list("action", "detail"))
        raise AssertionError(f"{error}; deliveries: {deliveries}; timeline: {events}") from error


def accept_if_asked(dialog: Dialog, question: str) -> None:
    assert dialog.message.startswith(question), dialog.message
    dialog.accept()


def some_silences(admin_name: str) -> None:
    from django.contrib.auth.models import User

    admin = User.objects.get(username=admin_name)
    now = timezone.now()
    rule = make_rule(name="Checkout latency p95 over two seconds")
    Silence.objects.create(
        service="payments",
        subject="charge*",
        severity="critical",
        rule=rule,
        comment="card provider incident, OPS-1234",
        starts_at=now - timedelta(minutes=20),
        ends_at=now + timedelta(hours=3),
        created_by=admin,
        time_zone="Europe/Berlin",
        expire_on_resolve=True,
    )
    Silence.objects.create(
        service="*",
        subject="*",
        comment="weekly database maintenance",
        days=[6],
        start_time=(now + timedelta(hours=5)).time(),
        minutes=120,
        time_zone="America/New_York",
        created_by=admin,
        starts_at=now - timedelta(days=3),
    )
    Silence.objects.create(
        service="billing-service-with-a-long-name",
        subject="*_queue",
        comment="",
        created_by=None,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_the_pages_read_well(chromium: Browser, live_site: str, no_defaults: None, size: str, scheme: str) -> None:
    make_user("admin")
    some_silences("admin")
    page = log_in(chromium, live_site, "admin", viewport=SIZES[size], color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for state in ("active", "scheduled", "expired"):
        page.goto(f"/silences/?state={state}")
        page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
        screenshot(page, f"silences/list-{state}-{scheme}-{size}")
        fits(page)
    page.goto("/silences/new/")
    page.check("#kind-recurring")
    page.check("input[name=days][value=sun]")
    page.fill("#start_time", "02:00")
    page.click("button[type=submit] >> text=Create silence")
    page.wait_for_selector("#repeat_minutes-error")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    screenshot(page, f"silences/form-error-{scheme}-{size}")
    fits(page)
    page.goto("/silences/new/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    screenshot(page, f"silences/form-{scheme}-{size}")
    fits(page)
    recurring = Silence.objects.filter(start_time__isnull=False).get()
    page.goto(f"/silences/{recurring.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    screenshot(page, f"silences/detail-{scheme}-{size}")
    fits(page)
    assert errors == []
