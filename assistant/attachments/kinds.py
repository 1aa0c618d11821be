"""Sorting attachments: an image the model can see, a text file it can read, or anything else."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath

# The image types the completions service accepts (OpenAI: PNG, JPEG, WEBP, non-animated GIF).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
# Non-`text/*` types that are text all the same.
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/javascript",
        "application/x-javascript",
        "application/x-sh",
        "application/sql",
        "application/x-python",
        "application/ld+json",
        "application/x-ndjson",
    }
)
# Source, data, config and log files members paste, by extension (Discord often sends no type,
# or application/octet-stream, for these). Extension → the fence's language hint.
TEXT_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys((".txt", ".text", ".log", ".out", ".err"), "text"),
    **dict.fromkeys((".md", ".markdown"), "markdown"),
    ".rst": "rst",
    ".csv": "csv",
    ".tsv": "tsv",
    **dict.fromkeys((".json", ".jsonl", ".ndjson", ".geojson"), "json"),
    **dict.fromkeys((".yaml", ".yml"), "yaml"),
    ".toml": "toml",
    **dict.fromkeys((".ini", ".cfg", ".conf", ".properties", ".editorconfig"), "ini"),
    **dict.fromkeys((".xml", ".svg", ".plist"), "xml"),
    **dict.fromkeys((".html", ".htm"), "html"),
    **dict.fromkeys((".css", ".scss", ".sass", ".less"), "css"),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx"), "javascript"),
    **dict.fromkeys((".ts", ".tsx"), "typescript"),
    **dict.fromkeys((".py", ".pyi"), "python"),
    ".rb": "ruby",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    **dict.fromkeys((".kt", ".kts"), "kotlin"),
    ".swift": "swift",
    **dict.fromkeys((".c", ".h"), "c"),
    **dict.fromkeys((".cpp", ".cc", ".cxx", ".hpp", ".hh"), "cpp"),
    ".cs": "csharp",
    ".php": "php",
    ".pl": "perl",
    ".lua": "lua",
    **dict.fromkeys((".sh", ".bash", ".zsh", ".fish"), "bash"),
    ".ps1": "powershell",
    **dict.fromkeys((".bat", ".cmd"), "batch"),
    ".sql": "sql",
    ".r": "r",
    ".scala": "scala",
    ".dart": "dart",
    ".vue": "vue",
    ".svelte": "svelte",
    **dict.fromkeys((".diff", ".patch"), "diff"),
    ".gradle": "groovy",
    ".tex": "latex",
    ".dockerfile": "dockerfile",
    ".tf": "hcl",
    ".proto": "protobuf",
    ".graphql": "graphql",
}
# Files known by their whole name.
TEXT_NAMES: dict[str, str] = {
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "procfile": "text",
    "readme": "text",
    "license": "text",
    "requirements.txt": "text",
}


class Kind(Enum):
    """What the bot can do with a file."""

    IMAGE = "image"
    TEXT = "text"
    OTHER = "other"


@dataclass(frozen=True)
class FileRef:
    """An attachment as Discord described it: where to fetch it and what it claims to be."""

    filename: str
    url: str
    size: int  # bytes, as Discord reports it
    content_type: str | None = None


def media_type(content_type: str | None) -> str:
    """Return a Content-Type without parameters, lowercased (`Text/Plain; charset=utf-8` is `text/plain`)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def kind_of(file: FileRef) -> Kind:
    """Return whether `file` is an image, a text file or something else."""
    declared = media_type(file.content_type)
    suffix = PurePosixPath(file.filename.lower()).suffix
    if declared in IMAGE_TYPES or (not declared.startswith("image/") and suffix in IMAGE_EXTENSIONS):
        return Kind.IMAGE
    if declared.startswith("image/"):
        return Kind.OTHER  # HEIC, BMP, TIFF, SVG…: not a type the model takes
    if declared.startswith("text/") or declared in TEXT_TYPES:
        return Kind.TEXT
    if suffix in TEXT_EXTENSIONS or file.filename.lower() in TEXT_NAMES:
        return Kind.TEXT
    return Kind.OTHER


def fence_language(filename: str) -> str:
    """Return the code fence's language hint for a text file."""
    lowered = filename.lower()
    if lowered in TEXT_NAMES:
        return TEXT_NAMES[lowered]
    return TEXT_EXTENSIONS.get(PurePosixPath(lowered).suffix, "text")
