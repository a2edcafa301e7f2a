from __future__ import annotations

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "resilience_site"
    verbose_name = "Resilience Monitor"

    def ready(self) -> None:
        # The upward hooks: lower floors tell their listeners, the top floor fills the lists.
        from alerts import timeline  # ready(): models may be imported only once apps are loaded

        from . import live

        timeline.listeners.append(live.publish_alert)
