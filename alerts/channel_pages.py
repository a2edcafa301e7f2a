"""The channel pages (admins): the list, a channel with its limits, deliveries and history,
the forms, and the inline parts (Send test, Reveal). Writes go through channel_changes,
which the API calls too, so a form validates exactly like the API."""

from __future__ import annotations

import re
import secrets as random
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from monitoring import audit
from monitoring.auth import acting_on, page_for, require_role
from monitoring.errors import InputError
from monitoring.forms import field_errors, form_values, parse
from monitoring.models import AuditEntry
from monitoring.projects import current_project
from monitoring.views import page

from . import channel_changes, outbox
from .api.schemas import ChannelIn, ChannelPatch
from .channel_read import channel_deliveries, channel_detail, find_channels, get_channel
from .models import Channel, Delivery
from .transports import TRANSPORTS
from .transports.base import MASK
from .transports.pagerduty import EVENTS_URL

LIST_PAGE = 50
DELIVERIES_PAGE = 20
DEAD_SHOWN = 20
HISTORY_SHOWN = 50
SECURITY_CHOICES = [("starttls", "STARTTLS (port 587)"), ("tls", "TLS from the start (port 465)"), ("none", "None")]


@dataclass
class Field:
    """One input of a channel's form: name is the API's, e.g. "config.url"."""

    name: str
    label: str
    help: str = ""
    kind: str = "text"  # text | textarea | number | select | secret
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    wide: bool = False
    value: object = ""
    error: str = ""

    @property
    def id(self) -> str:
        return "id_" + self.name.replace(".", "_")


def kind_fields(kind: str) -> list[Field]:
    """The kind-specific inputs, by the config keys its transport's clean_config reads."""
    keep = f"Leave {MASK} to keep the stored one."
    return {
        "webhook": [
            Field(
                "config.url",
                "URL",
                "http:// or https://; the receiver gets a signed JSON POST.",
                required=True,
                wide=True,
            ),
            Field(
                "config.secret",
                "Signing secret",
                f"16 to 256 characters; the receiver checks the signature. {keep}",
                kind="secret",
                required=True,
            ),
            Field(
                "config.previous_secret",
                "Previous secret",
                f"While rotating: messages are signed with both. Empty when not rotating. {keep}",
                kind="secret",
            ),
        ],
        "slack": [
            Field(
                "config.url",
                "Incoming webhook URL",
                f"From Slack's Incoming Webhooks app, e.g. https://hooks.slack.com/services/…; a secret. {keep}",
                kind="secret",
                required=True,
            ),
        ],
        "email": [
            Field(
                "config.to",
                "To",
                "1 to 20 addresses, one a line or separated by commas.",
                kind="textarea",
                required=True,
            ),
            Field(
                "config.smtp_host",
                "SMTP server",
                "Empty: the site's mail settings (EMAIL_HOST). Fill in to send through a server of this channel.",
            ),
            Field("config.smtp_port", "SMTP port", "Empty: the security's usual port.", kind="number"),
            Field("config.smtp_security", "Security", kind="select", choices=SECURITY_CHOICES),
            Field("config.smtp_username", "SMTP user name"),
            Field("config.smtp_password", "SMTP password", keep, kind="secret"),
        ],
        "log": [],
        "pagerduty": [
            Field(
                "config.routing_key",
                "Integration key",
                "The 32-character routing key of an Events API v2 integration on a PagerDuty service; "
                f"a secret. {keep}",
                kind="secret",
                required=True,
            ),
            Field(
                "config.url",
                "Events URL",
                f"Empty: PagerDuty's, {EVENTS_URL}. Set it for an EU account "
                "(https://events.eu.pagerduty.com/v2/enqueue) or a proxy.",
                wide=True,
            ),
        ],
        "teams": [
            Field(
                "config.url",
                "Workflow URL",
                "From a Teams workflow “When a Teams webhook request is received” (its URL ends in &sig=…); "
                f"a secret. {keep}",
                kind="secret",
                required=True,
                wide=True,
            ),
        ],
        "discord": [
            Field(
                "config.url",
                "Webhook URL",
                "From the channel's Integrations → Webhooks, e.g. https://discord.com/api/webhooks/ID/TOKEN; "
                f"a secret. {keep}",
                kind="secret",
                required=True,
                wide=True,
            ),
        ],
    }[kind]


def filled(kind: str, values: dict, errors: dict[str, str]) -> list[Field]:
    fields = kind_fields(kind)
    for f in fields:
        value = values.get(f.name, "")
        f.value = "\n".join(value) if isinstance(value, list) else value
        f.error = errors.get(f.name, "")
    return fields


def by_field(errors: dict[str, str]) -> dict[str, str]:
    """By form field: "config.to[1]" is the To field."""
    return {re.sub(r"\[\d+\]$", "", name): message for name, message in errors.items()}


def form_errors(error: ValidationError | InputError) -> dict[str, str]:
    return by_field(field_errors(error))


def posted(request: HttpRequest, kind: str) -> tuple[dict, dict]:
    """(the API's input built from the form, the form's values as typed)."""
    values = form_values(request.POST, checkboxes=("enabled",))
    config = {name.removeprefix("config."): v for name, v in values.items() if name.startswith("config.")}
    if kind == "email" and "to" in config:
        config["to"] = [a.strip() for a in re.split(r"[,\n]", config["to"]) if a.strip()]
    data = {k: v for k, v in values.items() if not k.startswith("config.")}
    data.update(config=config, rate_per_minute=as_number(values.get("rate_per_minute")))
    return data, values


def as_number(text: str | None) -> int | str | None:
    """A number box's text as the API's JSON number; anything else as typed, for the schema to refuse."""
    return int(text) if text and re.fullmatch(r"-?\d{1,9}", text) else text


def form_page(request: HttpRequest, kind: str, values: dict, errors: dict, channel: Channel | None) -> HttpResponse:
    fields = filled(kind, values, errors)
    shown = {f.name for f in fields} | {"name", "rate_per_minute", "enabled"}
    general = [message for name, message in errors.items() if name not in shown]
    return page(
        request,
        "alerts/channel_form.html",
        "channels",
        channel=channel,
        kind=kind,
        kind_label=TRANSPORTS[kind].label,
        kinds=[(k, cls.label) for k, cls in TRANSPORTS.items()],
        fields=fields,
        values=values,
        errors=errors,
        general_errors=general,
        project=channel.project if channel else current_project(request),
        default_rate=settings.MONITOR_CHANNEL_RATE_PER_MINUTE,
    )


def render_form(request: HttpRequest, kind: str, values: dict, errors: dict, channel: Channel | None) -> HttpResponse:
    response = form_page(request, kind, values, errors, channel)
    response.status_code = 422 if errors else 200
    return response


@page_for("admin")
def channels(request: HttpRequest) -> HttpResponse:
    found = find_channels(request.user)
    offset = number(request.GET.get("offset"))
    items = found[offset : offset + LIST_PAGE]
    count = len(found)
    pager = {
        "count": count,
        "previous": f"?offset={max(0, offset - LIST_PAGE)}" if offset else None,
        "next": f"?offset={offset + LIST_PAGE}" if offset + len(items) < count else None,
    }
    kinds = [(k, cls.label) for k, cls in TRANSPORTS.items()]
    return page(
        request,
        "alerts/channels.html",
        "channels",
        channels=items,
        pager=pager,
        kinds=kinds,
        default_rate=settings.MONITOR_CHANNEL_RATE_PER_MINUTE,
    )


def number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 10 else 0


@page_for("admin")
def channel_new(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") or request.GET.get("kind") or "webhook"
    if kind not in TRANSPORTS:
        raise Http404("no such kind of channel")
    if request.method != "POST":
        values = {"enabled": True}
        if kind == "webhook":
            values["config.secret"] = random.token_urlsafe(32)
        return render_form(request, kind, values, {}, None)
    data, values = posted(request, kind)
    payload, errors = parse(ChannelIn, {**data, "kind": kind})
    if payload is not None:
        try:
            channel = channel_changes.create(request.user, payload.model_dump(), current_project(request))
        except InputError as error:
            errors = form_errors(error)
        else:
            messages.success(request, f"Channel “{channel.name}” created. Send it a test below.")
            return redirect("channel", channel.id)
    else:
        errors = by_field(errors)
    return render_form(request, kind, values, errors, None)


def channel_values(channel: Channel) -> dict:
    values = {f"config.{k}": v for k, v in channel.masked_config().items()}
    return {
        **values,
        "name": channel.name,
        "rate_per_minute": channel.rate_per_minute or "",
        "enabled": channel.enabled,
    }


@page_for("viewer")
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = acting_on(request, Channel, "admin", id=channel_id)
    if request.method != "POST":
        return render_form(request, channel.kind, channel_values(channel), {}, channel)
    data, values = posted(request, channel.kind)
    payload, errors = parse(ChannelPatch, data)
    if payload is not None:
        try:
            channel_changes.update(request.user, channel, payload.model_dump(exclude_unset=True))
        except InputError as error:
            errors = form_errors(error)
        else:
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("channel", channel.id)
    else:
        errors = by_field(errors)
    channel.refresh_from_db()
    return render_form(request, channel.kind, values, errors, channel)


def found(request: HttpRequest, channel_id: int) -> Channel:
    """A channel of the person's projects (else 404) they are an admin of (else 403)."""
    channel = get_channel(channel_id, request.user)
    if channel is None:
        raise Http404("no such channel")
    require_role(request, "admin", channel.project_id)
    return channel


@page_for("viewer")
def channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    item = found(request, channel_id)
    detail = channel_detail(item)
    offset = number(request.GET.get("offset"))
    recent = channel_deliveries(item)
    deliveries = recent[offset : offset + DELIVERIES_PAGE]
    count = len(recent)
    pager = {
        "count": count,
        "previous": f"?offset={max(0, offset - DELIVERIES_PAGE)}#deliveries" if offset else None,
        "next": f"?offset={offset + DELIVERIES_PAGE}#deliveries" if offset + len(deliveries) < count else None,
    }
    dead = channel_deliveries(item, "dead")
    secrets = [
        {"key": f.name.removeprefix("config."), "label": f.label}
        for f in kind_fields(item.kind)
        if f.name.removeprefix("config.") in item.sealed
    ]
    return page(
        request,
        "alerts/channel.html",
        "channels",
        channel=detail,
        public_config=public_config(item),
        secrets=secrets,
        deliveries=deliveries,
        pager=pager,
        dead={"items": dead[:DEAD_SHOWN], "count": len(dead)},
        history=[history_row(e) for e in audit.history("channel", item.id)[:HISTORY_SHOWN]],
        # htmx gives up after this; the send itself after the outbound timeout.
        test_timeout_ms=int((max(settings.MONITOR_HTTP_TIMEOUT_S, settings.EMAIL_TIMEOUT) + 5) * 1000),
    )


def history_row(entry: AuditEntry) -> dict:
    """An audit entry as the page shows it: for an edit, each changed field (config keys apart)."""
    changes = []
    if entry.action in (audit.UPDATED, channel_changes.ENABLED, channel_changes.DISABLED):
        before, after = entry.before or {}, entry.after or {}
        for name, value in after.items():
            old = before.get(name)
            if isinstance(value, dict) and isinstance(old, dict):
                keys = [k for k in {**old, **value} if old.get(k) != value.get(k)]
                changes += [(f"{name}.{k}", shown(old.get(k)), shown(value.get(k))) for k in keys]
            elif name != "enabled":
                changes.append((name, shown(old), shown(value)))
    elif entry.action == channel_changes.REVEALED:
        changes.append(("secret", None, (entry.after or {}).get("secret")))
    return {"at": entry.at, "actor": entry.actor_name, "action": entry.action, "changes": changes}


def shown(value: object) -> str | None:
    if value is None:
        return None
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def public_config(channel: Channel) -> list[tuple[str, str]]:
    """The config that is not secret, by its form label."""
    labels = {f.name.removeprefix("config."): f.label for f in kind_fields(channel.kind)}
    shown = []
    for key, value in channel.config.items():
        if key in channel.secret_keys:
            continue
        shown.append((labels.get(key, key), ", ".join(value) if isinstance(value, list) else str(value)))
    return shown


@page_for("viewer")
@require_POST
def channel_enable(request: HttpRequest, channel_id: int) -> HttpResponse:
    return enabled_to(request, channel_id, True)


@page_for("viewer")
@require_POST
def channel_disable(request: HttpRequest, channel_id: int) -> HttpResponse:
    return enabled_to(request, channel_id, False)


def enabled_to(request: HttpRequest, channel_id: int, enabled: bool) -> HttpResponse:
    item = acting_on(request, Channel, "admin", id=channel_id)
    channel_changes.set_enabled(request.user, item, enabled)
    word = "enabled" if enabled else "disabled: nothing is sent to it until it is enabled again"
    messages.success(request, f"Channel “{item.name}” {word}.")
    return redirect("channel", item.id)


@page_for("viewer")
@require_POST
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    item = acting_on(request, Channel, "admin", id=channel_id)
    channel_changes.delete(request.user, item)
    messages.success(request, f"Channel “{item.name}” deleted.")
    return redirect("channels")


@page_for("viewer")
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """The receiver's answer, as a fragment swapped into the page (htmx), or as a flash message."""
    item = acting_on(request, Channel, "admin", id=channel_id)
    delivery, result = outbox.send_test(item)
    if not request.htmx:
        said = result.answer or result.error
        messages.success(request, f"Test notification {result.state}: {said} ({result.elapsed_ms:g} ms)")
        return redirect("channel", item.id)
    return render(request, "alerts/_channel_test_result.html", {"result": result, "delivery": delivery})


@page_for("viewer")
@require_POST
def channel_reveal(request: HttpRequest, channel_id: int) -> HttpResponse:
    item = acting_on(request, Channel, "admin", id=channel_id)
    key = request.POST.get("key", "")
    try:
        value = channel_changes.reveal(request.user, item, key)
    except InputError as error:
        return render(request, "alerts/_channel_secret.html", {"channel": item, "key": key, "error": error.message})
    return render(request, "alerts/_channel_secret.html", {"channel": item, "key": key, "value": value})


@page_for("viewer")
@require_POST
def channel_retry(request: HttpRequest, channel_id: int, delivery_id: int) -> HttpResponse:
    acting_on(request, Channel, "admin", id=channel_id)
    delivery = get_object_or_404(
        Delivery.objects.select_related("channel", "alert"), id=delivery_id, channel=channel_id
    )
    if outbox.retry(delivery, request.user):
        messages.success(request, f"Delivery #{delivery.id} queued again.")
    else:
        messages.warning(request, f"Delivery #{delivery.id} is {delivery.state}: only a dead letter can be retried.")
    return redirect("channel", channel_id)


urlpatterns = [
    path("", channels, name="channels"),
    path("new/", channel_new, name="channel-new"),
    path("<int:channel_id>/", channel, name="channel"),
    path("<int:channel_id>/edit/", channel_edit, name="channel-edit"),
    path("<int:channel_id>/enable/", channel_enable, name="channel-enable"),
    path("<int:channel_id>/disable/", channel_disable, name="channel-disable"),
    path("<int:channel_id>/delete/", channel_delete, name="channel-delete"),
    path("<int:channel_id>/test/", channel_test, name="channel-test"),
    path("<int:channel_id>/reveal/", channel_reveal, name="channel-reveal"),
    path("<int:channel_id>/deliveries/<int:delivery_id>/retry/", channel_retry, name="channel-retry"),
]
