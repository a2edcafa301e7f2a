"""POST /otlp/v1/metrics in the OpenAPI document: a plain Django view (OTLP/HTTP fixes its path
and its protobuf bodies), described here by hand and added by resilience_site.api."""

from __future__ import annotations

PROTOBUF = {"schema": {"type": "string", "format": "binary"}}
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}, "application/x-protobuf": PROTOBUF}
ERRORS = {
    400: "not an OTLP ExportMetricsServiceRequest, or not valid gzip",
    401: "no token, or an unknown, revoked or expired ingest token",
    403: "the resource's service.name is not the token's service",
    409: "the Idempotency-Key was used for different points",
    413: "over the body or item limit",
    415: "neither application/x-protobuf nor application/json, or an encoding other than gzip",
    422: "a new function or queue over the service's cap",
    429: "over the token's rate (Retry-After)",
    503: "the database cannot take it right now (Retry-After)",
}


def paths() -> dict:
    responses = {
        "200": {
            "description": "Stored: an ExportMetricsServiceResponse, with partial_success for rejected points and "
            "ignored metrics (docs/opentelemetry.md)",
            "content": {"application/json": {"schema": {"type": "object"}}, "application/x-protobuf": PROTOBUF},
        },
        **{
            str(status): {"description": f"{why}: a google.rpc.Status (JSON: with detail, field)", "content": ERROR}
            for status, why in ERRORS.items()
        },
    }
    return {
        "/otlp/v1/metrics": {
            "post": {
                "operationId": "otlp_export_metrics",
                "summary": "OTLP/HTTP metrics export (OpenTelemetry)",
                "tags": ["ingest"],
                "security": [{"ServiceTokenAuth": []}],
                "parameters": [
                    {"in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-protobuf": PROTOBUF,
                        "application/json": {"schema": {"type": "object"}},
                    },
                },
                "responses": responses,
            }
        }
    }
