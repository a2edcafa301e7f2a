"""The one NinjaAPI: /api/v1/... endpoints, OpenAPI docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from alerts.api import router as alerts_router
from monitoring.api import router as monitoring_router
from monitoring.audit_api import router as audit_router
from monitoring.batch import Batch
from monitoring.people_api import router as people_router
from monitoring.project_api import router as project_router
from monitoring.trend_api import router as trend_router
from queues.api import router as queues_router

from . import errors
from .ingest_api import router as ingest_router
from .otlp_openapi import paths as otlp_paths
from .site_api import router as site_router


class MonitorAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None) -> OpenAPISchema:
        """The ingest body is validated by a plain pydantic model (not a ninja parameter), so its
        schema is published here; the ingest operations refer to it as #/components/schemas/Batch."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        batch = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(batch.pop("$defs", {}))
        components["Batch"] = batch
        schema["paths"].update(otlp_paths())  # a plain view outside /api/ (OTLP/HTTP fixes the path)
        return schema


api = MonitorAPI(title="Resilience Monitor API", version="1", urls_namespace="api")
api.add_router("/v1/", ingest_router)
api.add_router("/v1/", site_router)
api.add_router("/v1/", monitoring_router)
api.add_router("/v1/", queues_router)
api.add_router("/v1/", alerts_router)
api.add_router("/v1/", audit_router)
api.add_router("/v1/", people_router)
api.add_router("/v1/", trend_router)
api.add_router("/v1/", project_router)
errors.install(api)
