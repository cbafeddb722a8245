"""botbuilder ``Storage`` in Azure Blob Storage, through botbuilder-azure's own ``BlobStorage``.

    storage = create_blob_storage("azureblob://insight-desk-state", connection_string)
    ...
    await storage.aclose()

``STATE_STORE=azureblob://<container>`` with the account's connection string in
``AZURE_STORAGE_CONNECTION_STRING``. One blob per item, named after the key percent-encoded (so every
botbuilder key is a valid blob name: slashes, colons, unicode and all), holding the item as jsonpickle
JSON, which is botbuilder's own format. The e-tag is the blob's own ETag.

botbuilder's ``BlobStorage`` creates the container; items are written and read as the other stores do
(``bot.stores.base.encode_item``, ``decode_item``): a write that would not read back is refused, and a blob that
is not state this bot can restore reads as absent, logged once (``bot.stores.unreadable_items``).
This subclass adds what the bot relies on and ``BlobStorage`` lacks:
a write hands the new e-tag back to the item (so a ``BotState`` can save twice in one turn), a stale e-tag is
an ``EtagConflictError`` (a ``KeyError``, as ``MemoryStorage`` raises), reading nothing returns nothing, and a
failure other than "not found" is a ``StorageError`` instead of a silently missing item, and an item carrying
``bot.stores.base.CREATE_ONLY_E_TAG`` is uploaded only if no blob has its name (``If-None-Match: *``). Unlike SQLite
and Redis, the writes of one call are separate blob uploads: each is conditional on its own e-tag, but a
conflict on one does not undo the others.

Feedback: one append blob per day.
Each event is one JSON line appended to ``feedback/<YYYY-MM-DD>.jsonl`` in the state container. An append
is atomic on the service, so any number of bot instances record without coordinating; the day's blob is
created only if missing (``If-None-Match: *``), so no instance ever replaces another's. The report reads
every day's blob.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import suppress
from typing import Any
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob.aio import BlobClient, ContainerClient
from botbuilder.azure import BlobStorage, BlobStorageSettings

from bot.feedback.events import (
    FeedbackEvent,
    FeedbackStore,
    ReportRow,
    event_from_record,
    event_json,
    report_from_events,
)
from bot.stores.base import (
    CREATE_ONLY_E_TAG,
    StorageError,
    UnreadableItemError,
    decode_item,
    encode_item,
    etag_conflict,
    set_e_tag,
    write_items,
)
from bot.stores.unreadable_items import UnreadableItems

__all__ = ["AzureBlobStorage", "BlobFeedbackStore", "blob_container", "create_blob_storage"]


_UPLOAD_PART_BYTES = 512 * 1024
"""Larger items are uploaded in blocks of this size: aiohttp warns that one body over 1 MiB blocks the loop."""


def blob_container(url: str) -> str:
    """The container an ``azureblob://<container>`` URL names (3-63 lowercase letters, digits, hyphens)."""
    prefix = "azureblob://"
    if url[: len(prefix)].lower() != prefix:
        raise ValueError(f"not an Azure Blob URL (expected azureblob://container): {url!r}")
    container = url[len(prefix) :].strip("/")
    if not (3 <= len(container) <= 63) or not all(c.islower() or c.isdigit() or c == "-" for c in container) \
            or container.startswith("-") or "--" in container:
        raise ValueError(f"azureblob:// container name {container!r}: 3-63 lowercase letters, digits and single"
                         " hyphens, starting with a letter or digit")
    return container


def create_blob_storage(url: str, connection_string: str) -> AzureBlobStorage:
    """The Blob store of ``STATE_STORE=azureblob://<container>``; nothing is contacted before first use."""
    container = blob_container(url)
    if not connection_string:
        raise ValueError(f"STATE_STORE {url!r} needs the storage account's connection string in"
                         " AZURE_STORAGE_CONNECTION_STRING")
    try:
        return AzureBlobStorage(BlobStorageSettings(container_name=container, connection_string=connection_string))
    except (ValueError, KeyError) as e:
        raise ValueError(f"AZURE_STORAGE_CONNECTION_STRING is not a storage account connection string: {e}") from None


def _blob_name(key: str) -> str:
    return quote(key, safe="")


class AzureBlobStorage(BlobStorage):  # type: ignore[misc]  # botbuilder ships no type information
    """botbuilder-azure's ``BlobStorage`` with e-tags handed back and failures named (see the module)."""

    honours_create_only = True

    def __init__(self, settings: BlobStorageSettings) -> None:
        super().__init__(settings)
        self.container_name: str = settings.container_name
        # BlobStorage's private container client shares a transport it can never close: hand it one of its
        # own (the same container, from the same connection string) that ``aclose`` closes.
        self.container = ContainerClient.from_connection_string(
            settings.connection_string, settings.container_name,
            max_single_put_size=_UPLOAD_PART_BYTES, max_block_size=_UPLOAD_PART_BYTES)
        self._BlobStorage__container_client = self.container
        self.unreadable = UnreadableItems(f"azureblob://{self.container_name}", CREATE_ONLY_E_TAG)

    def _failure(self, operation: str, key: str, error: AzureError) -> StorageError:
        return StorageError(f"state store azureblob://{self.container_name}: {operation} of {key!r} failed:"
                            f" {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                            operation=operation)

    async def ready(self) -> None:
        """Create the container on first use (botbuilder's ``_initialize``), failures as ``StorageError``."""
        try:
            await self._initialize()
        except AzureError as e:
            raise self._failure("open", self.container_name, e) from e

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """The stored items among ``keys``; keys never written are absent from the result."""
        wanted = list(dict.fromkeys(keys or ()))
        if not wanted:
            return {}
        await self.ready()
        found: dict[str, Any] = {}
        for key in wanted:
            try:
                blob = await self.container.get_blob_client(_blob_name(key)).download_blob()
                document = await blob.readall()
            except ResourceNotFoundError:
                self.unreadable.seen(key)
                continue
            except AzureError as e:
                raise self._failure("read", key, e) from e
            e_tag = str(blob.properties.etag).strip('"')
            try:  # botbuilder's own read restores with an unsafe Unpickler and fails on a damaged blob
                found[key] = decode_item(f"azureblob://{self.container_name}", key, document, e_tag)
            except UnreadableItemError as e:  # absent for this key, logged once (bot.stores.unreadable_items)
                self.unreadable.note(key, e_tag, e)
            else:
                self.unreadable.seen(key)
        return found

    async def write(self, changes: dict[str, Any] | None) -> None:
        """Upload every item of ``changes``, each conditional on its e-tag (see the module)."""
        items = write_items(changes, self.unreadable)
        if not items:
            return
        # jsonpickle's form (botbuilder's), every item before the first upload: one that would not read back
        # is refused with nothing written
        texts = [encode_item(key, item) for key, item, _ in items]
        await self.ready()
        for (key, item, condition), text in zip(items, texts, strict=True):
            blob = self.container.get_blob_client(_blob_name(key))
            try:
                if condition is None:
                    result = await blob.upload_blob(text, overwrite=True)
                elif condition == CREATE_ONLY_E_TAG:  # If-None-Match: * (the blob must not exist)
                    result = await blob.upload_blob(text, overwrite=False)
                else:
                    result = await blob.upload_blob(text, overwrite=True, etag=f'"{condition}"',
                                                    match_condition=MatchConditions.IfNotModified)
            except (ResourceModifiedError, ResourceNotFoundError, ResourceExistsError) as e:
                stored = None if isinstance(e, ResourceNotFoundError) else "another e-tag"
                raise etag_conflict(f"azureblob://{self.container_name}", key, condition or "*", stored) from e
            except AzureError as e:
                raise self._failure("write", key, e) from e
            set_e_tag(item, str(result["etag"]).strip('"'))

    async def delete(self, keys: Iterable[str] | None) -> None:
        """Remove the blobs of ``keys``; unknown keys are ignored."""
        doomed = list(dict.fromkeys(keys or ()))
        if not doomed:
            return
        await self.ready()
        for key in doomed:
            try:
                await self.container.delete_blob(_blob_name(key))
            except ResourceNotFoundError:
                continue
            except AzureError as e:
                raise self._failure("delete", key, e) from e

    def feedback_store(self) -> FeedbackStore:
        """Feedback beside this store's items."""
        return BlobFeedbackStore(self)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.container.close()


FEEDBACK_PREFIX = "feedback/"


class BlobFeedbackStore:
    """Feedback events in daily append blobs of ``storage``'s container."""

    def __init__(self, storage: AzureBlobStorage) -> None:
        self.storage = storage

    def _failure(self, operation: str, error: AzureError) -> StorageError:
        return StorageError(f"state store azureblob://{self.storage.container_name}: {operation} failed:"
                            f" {type(error).__name__}", operation=operation)

    async def record(self, event: FeedbackEvent) -> None:
        await self.storage.ready()
        blob = self.storage.container.get_blob_client(f"{FEEDBACK_PREFIX}{event.timestamp:%Y-%m-%d}.jsonl")
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
            names = sorted([b.name async for b in self.storage.container.list_blobs(name_starts_with=FEEDBACK_PREFIX)])
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
