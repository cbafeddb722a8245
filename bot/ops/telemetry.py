"""Optional Application Insights telemetry through botbuilder's own telemetry client and middleware.

Set ``APPLICATIONINSIGHTS_CONNECTION_STRING`` (``InstrumentationKey=...;IngestionEndpoint=https://...``)
or the older ``APPINSIGHTS_INSTRUMENTATIONKEY``; with neither, nothing here is loaded. The package
``botbuilder-applicationinsights`` is optional (``requirements-appinsights.txt``): with a key set and the
package missing the bot refuses to start and says what to install.

botbuilder's ``TelemetryLoggerMiddleware`` records every activity received and sent
(``BotMessageReceived``, ``BotMessageSend``, ...) without personal information (no text, no user
names); ``ApplicationInsightsTelemetryClient`` ships it from a background thread, so the event loop
never waits on the ingestion endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botbuilder.core import Middleware, TelemetryLoggerMiddleware

__all__ = ["DEFAULT_INGESTION", "Telemetry", "create_telemetry", "parse_connection_string"]

DEFAULT_INGESTION = "https://dc.services.visualstudio.com/"


def parse_connection_string(text: str) -> tuple[str, str]:
    """(instrumentation key, track endpoint URL) of an Application Insights connection string."""
    fields = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip()
    instrumentation_key = fields.get("instrumentationkey", "")
    if not instrumentation_key:
        raise ValueError("the Application Insights connection string has no InstrumentationKey")
    endpoint = fields.get("ingestionendpoint") or DEFAULT_INGESTION
    return instrumentation_key, endpoint.rstrip("/") + "/v2/track"


@dataclass
class Telemetry:
    """The telemetry client and the middleware that feeds it."""

    client: Any
    middleware: Middleware

    def flush(self) -> None:
        """Hand what is queued to the sender (on shutdown)."""
        self.client.flush()


def create_telemetry(connection_string: str, instrumentation_key: str = "") -> Telemetry | None:
    """Application Insights telemetry when a connection string or key is given, else ``None``."""
    if not connection_string and not instrumentation_key:
        return None
    key, endpoint = parse_connection_string(connection_string or f"InstrumentationKey={instrumentation_key}")
    try:
        from applicationinsights import TelemetryClient
        from applicationinsights.channel import AsynchronousQueue, AsynchronousSender, TelemetryChannel
        from botbuilder.applicationinsights import ApplicationInsightsTelemetryClient
    except ImportError as e:
        raise RuntimeError("Application Insights is configured but botbuilder-applicationinsights is not installed:"
                           " pip install -r requirements-appinsights.txt") from e
    channel = TelemetryChannel(queue=AsynchronousQueue(AsynchronousSender(endpoint)))
    client = ApplicationInsightsTelemetryClient(key, telemetry_client=TelemetryClient(key, channel))
    return Telemetry(client, TelemetryLoggerMiddleware(client, log_personal_information=False))
