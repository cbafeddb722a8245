"""Feedback in Azure Blob Storage, beside ``AzureBlobStorage``'s state: one append blob per day.

Each event is one JSON line appended to ``feedback/<YYYY-MM-DD>.jsonl`` in the state container. An append
is atomic on the service, so any number of bot instances record without coordinating; the day's blob is
created only if missing (``If-None-Match: *``), so no instance ever replaces another's. The report reads
every day's blob.
"""

from __future__ import annotations

import json
from contextlib import suppress

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob.aio import BlobClient

from bot.feedback import FeedbackEvent, ReportRow, report_from_events
from bot.feedback_redis import event_from_record, event_json
from bot.storage import StorageError
from bot.storage_blob import AzureBlobStorage

__all__ = ["BlobFeedbackStore"]

PREFIX = "feedback/"


class BlobFeedbackStore:
    """Feedback events in daily append blobs of ``storage``'s container."""

    def __init__(self, storage: AzureBlobStorage) -> None:
        self.storage = storage

    def _failure(self, operation: str, error: AzureError) -> StorageError:
        return StorageError(f"state store azureblob://{self.storage.container_name}: {operation} failed:"
                            f" {type(error).__name__}", operation=operation)

    async def record(self, event: FeedbackEvent) -> None:
        await self.storage.ready()
        blob = self.storage.container.get_blob_client(f"{PREFIX}{event.timestamp:%Y-%m-%d}.jsonl")
        line = (event_json(event) + "\n").encode("utf-8")
        try:
            try:
                await blob.append_block(line)
                return
            except ResourceNotFoundError:
                pass  # the day's first event: create its blob
            await self.create_day_blob(blob)
            await blob.append_block(line)
        except AzureError as e:
            raise self._failure("record feedback", e) from e

    @staticmethod
    async def create_day_blob(blob: BlobClient) -> None:
        """Create the day's append blob unless it exists (another instance may have created it just now)."""
        with suppress(ResourceExistsError, ResourceModifiedError):
            await blob.create_append_blob(match_condition=MatchConditions.IfMissing)

    async def events(self) -> list[FeedbackEvent]:
        """Every recorded event, day by day."""
        await self.storage.ready()
        found: list[FeedbackEvent] = []
        try:
            names = sorted([b.name async for b in self.storage.container.list_blobs(name_starts_with=PREFIX)])
            for name in names:
                data = await (await self.storage.container.download_blob(name)).readall()
                for line in data.decode("utf-8").splitlines():
                    if line.strip():
                        found.append(event_from_record(json.loads(line)))
        except AzureError as e:
            raise self._failure("read the feedback report", e) from e
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"state store azureblob://{self.storage.container_name}: a feedback blob holds a"
                               f" line that is not a feedback event: {e}", operation="read the feedback report") from e
        return found

    async def report(self, limit: int = 20) -> list[ReportRow]:
        return report_from_events(await self.events(), limit)
