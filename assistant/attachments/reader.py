"""Reading a question's attachments: images for the model, text files inlined, one note for the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import cast

from assistant.attachments.download import MAX_DOWNLOAD_BYTES, Downloader, DownloadFailed
from assistant.attachments.images import UnreadableImage, prepare_image
from assistant.attachments.kinds import FileRef, Kind, kind_of
from assistant.attachments.text import decode_text, fenced_file, looks_binary
from assistant.errors import FileTooLong
from assistant.model.tokens import estimate_text_tokens
from storage.images import AttachedImage, image_line

log = logging.getLogger(__name__)

# Images decoded at once across the bot: decoding is CPU work (the machine's cores) and each one
# holds a full-size bitmap in memory while it runs (up to ~200 MB for 50 megapixels).
MAX_CONCURRENT_DECODES = 2
# Text and code run 3–5 bytes per o200k token; no real file packs more than 8, so a file over 8
# bytes per token of the budget cannot fit and is refused before it is downloaded. Below that it
# is downloaded and counted exactly.
MAX_BYTES_PER_TOKEN = 8
# How the size of a file refused unread is put into tokens for the member: a typical 4 bytes each.
TYPICAL_BYTES_PER_TOKEN = 4
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why (for the member's note)."""

    reason: str


# What became of one file: an image, a fenced text block, or left out.
Outcome = AttachedImage | str | Skipped


@dataclass(frozen=True)
class ReadFiles:
    """What a question's attachments add to it."""

    images: tuple[AttachedImage, ...] = ()
    texts: tuple[str, ...] = ()  # fenced blocks, in attachment order
    # For the model: which files were attached and which were not read, so it can say so.
    manifest: tuple[str, ...] = ()
    # For the member: "name (why)" of every file left out.
    skipped: tuple[str, ...] = ()

    def compose(self, text: str) -> str:
        """Return the question's text with the text files after it and the list of attachments last."""
        parts = [part for part in (text, *self.texts) if part]
        if self.manifest:
            parts.append("\n".join(self.manifest))
        return "\n\n".join(parts)

    @property
    def note(self) -> str:
        """Return the one short line that tells the member which files were left out, or ''."""
        if not self.skipped:
            return ""
        return "-# Not read: " + ", ".join(self.skipped) + "."


class AttachmentReader:
    """Turns attachment references into images and text, within the limits."""

    def __init__(self, downloader: Downloader, *, max_images: int, budget_tokens: int) -> None:
        self._downloader = downloader
        self._max_images = max_images
        self._budget_tokens = budget_tokens
        self._decodes = asyncio.Semaphore(MAX_CONCURRENT_DECODES)

    async def read(self, files: Sequence[FileRef]) -> ReadFiles:
        """Download and prepare `files`; raise FileTooLong if a text file cannot fit the context."""
        kinds = [kind_of(file) for file in files]
        for file, kind in zip(files, kinds, strict=True):
            if kind is Kind.TEXT and file.size > self._budget_tokens * MAX_BYTES_PER_TOKEN:
                raise FileTooLong(file.filename, file.size // TYPICAL_BYTES_PER_TOKEN, self._budget_tokens)
        images_wanted = 0
        jobs: list[Awaitable[Outcome]] = []
        for file, kind in zip(files, kinds, strict=True):
            if kind is Kind.IMAGE:
                images_wanted += 1
                jobs.append(self._image(file, images_wanted))
            elif kind is Kind.TEXT:
                jobs.append(self._text(file))
            else:
                jobs.append(_skip("not an image or a text file"))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # FileTooLong, or a bug; the rest have finished
        return _assemble(files, cast(list[Outcome], results))

    async def _image(self, file: FileRef, number: int) -> Outcome:
        """Return the prepared image, or why it was left out."""
        if number > self._max_images:
            if self._max_images == 0:
                return Skipped("images are turned off here")
            return Skipped(f"only {self._max_images} images are read per question")
        if file.size > MAX_DOWNLOAD_BYTES:
            return Skipped(f"over {MAX_DOWNLOAD_BYTES // MEBIBYTE} MiB")
        try:
            data = await self._downloader.fetch(file.url, max_bytes=MAX_DOWNLOAD_BYTES)
            async with self._decodes:
                return await asyncio.to_thread(prepare_image, file.filename, data)
        except (DownloadFailed, UnreadableImage) as exc:
            log.info("Left out an attached image: %s", exc)
            return Skipped(str(exc))

    async def _text(self, file: FileRef) -> Outcome:
        """Return the file as a fenced block, or why it was left out."""
        limit = min(MAX_DOWNLOAD_BYTES, self._budget_tokens * MAX_BYTES_PER_TOKEN)
        try:
            data = await self._downloader.fetch(file.url, max_bytes=limit)
        except DownloadFailed as exc:
            return Skipped(str(exc))
        if looks_binary(data):
            return Skipped("not a text file")
        # Counting up to a few MB of text is CPU work too: off the event loop.
        text = await asyncio.to_thread(decode_text, data)
        tokens = await asyncio.to_thread(estimate_text_tokens, text)
        if tokens > self._budget_tokens:
            raise FileTooLong(file.filename, tokens, self._budget_tokens)
        return fenced_file(file.filename, text)


async def _skip(reason: str) -> Outcome:
    """Return a file left out without any work."""
    return Skipped(reason)


def _assemble(files: Sequence[FileRef], results: Sequence[Outcome]) -> ReadFiles:
    """Sort the outcomes into images, text blocks, the model's manifest and the member's note."""
    images: list[AttachedImage] = []
    texts: list[str] = []
    manifest: list[str] = []
    skipped: list[str] = []
    for file, result in zip(files, results, strict=True):
        if isinstance(result, AttachedImage):
            images.append(result)
            manifest.append(image_line(file.filename))
        elif isinstance(result, Skipped):
            skipped.append(f"{file.filename} ({result.reason})")
            manifest.append(f"[attached, not read: {file.filename}]")
        else:
            texts.append(result)
    return ReadFiles(tuple(images), tuple(texts), tuple(manifest), tuple(skipped))
