"""What a signed action link does (alerts/action_links.py): check it, then act once.

`check()` says whether the link can still act (the confirm page asks it too); `use()`
stores the link's id and acts in one transaction, so a link works once, and a link
that cannot act (the alert resolved meanwhile) is not spent.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from . import incident_actions, lifecycle
from .action_links import SUPPRESS_MINUTES, Claim, LinkRefused
from .models import ActionLinkUse, Alert, AlertState, IncidentState
from .timeline import acting_as


def used(claim: Claim) -> LinkRefused | None:
    use = ActionLinkUse.objects.filter(link_id=claim.link_id).first()
    if use is None:
        return None
    when = f"{use.used_at:%Y-%m-%d %H:%M} UTC"
    return LinkRefused(f"This link was already used, at {when}: each link works once.", 409)


def check(claim: Claim) -> Alert:
    """The alert the link acts on, or LinkRefused: used, no such alert, resolved, already done."""
    refused = used(claim)
    if refused:
        raise refused
    related = Alert.objects.select_related("rule", "acknowledged_by", "incident__acknowledged_by")
    alert = related.filter(id=claim.alert_id).first()
    if alert is None:
        raise LinkRefused("This alert no longer exists.", 404)
    incident = alert.incident
    if incident is not None:
        # The notice was about the incident: its state decides.
        if incident.state == IncidentState.RESOLVED:
            when = f"{incident.resolved_at:%Y-%m-%d %H:%M} UTC"
            raise LinkRefused(f"This incident was resolved at {when}: nothing to do.", 409)
        if claim.action == "acknowledge" and incident.state == IncidentState.ACKNOWLEDGED:
            who = incident.acknowledged_by.get_username() if incident.acknowledged_by else "someone"
            raise LinkRefused(f"This incident was already acknowledged, by {who}.", 409)
        return alert
    if alert.state == AlertState.RESOLVED:
        raise LinkRefused(f"This alert was resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC: nothing to do.", 409)
    if claim.action == "acknowledge" and alert.state == AlertState.ACKNOWLEDGED:
        who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "someone"
        raise LinkRefused(f"This alert was already acknowledged, by {who}.", 409)
    return alert


def use(claim: Claim) -> Alert:
    """Act on the link's alert as its recipient; LinkRefused if it cannot (nothing is spent then)."""
    try:
        with transaction.atomic():
            alert = check(claim)
            ActionLinkUse.objects.create(
                link_id=claim.link_id, alert=alert, action=claim.action, recipient=claim.recipient[:260]
            )
            if not act(alert, claim):
                raise LinkRefused("This alert changed meanwhile (resolved or acknowledged): nothing was done.", 409)
            alert.refresh_from_db()
    except IntegrityError:
        # Another click on the same link won the race.
        raise used(claim) or LinkRefused("This link was already used: each link works once.", 409) from None
    return alert


def act(alert: Alert, claim: Claim) -> bool:
    """A notice is per incident (its link names its first alert): act on the whole incident,
    as its page would; an alert without one (stored before incidents) on its own."""
    reason = "from the link in a notification"
    # The silence this makes has no user: its comment names who asked for it.
    comment = f"{reason} ({claim.who})"
    with acting_as(claim.who):
        incident = alert.incident
        if incident is not None:
            if claim.action == "acknowledge":
                return incident_actions.acknowledge(incident, None, reason=reason)
            return incident_actions.suppress(incident, None, SUPPRESS_MINUTES, comment=comment)
        if claim.action == "acknowledge":
            return lifecycle.acknowledge(alert, None, reason=reason)
        return lifecycle.suppress(alert, None, SUPPRESS_MINUTES, comment=comment)
