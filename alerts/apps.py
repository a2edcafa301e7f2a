from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Alerts and incidents name their service (they keep the name they fired with); a
        # delivery names its alert's, else its incident's: their project is that service's.
        from monitoring.projects import PROJECT_PARTS, SERVICE_NAME_PATHS

        from .channel_read import project_channels
        from .models import Alert, Delivery, Incident

        SERVICE_NAME_PATHS.update(
            {Alert: ("service",), Incident: ("service",), Delivery: ("alert__service", "incident__service")}
        )
        PROJECT_PARTS.append(project_channels)
