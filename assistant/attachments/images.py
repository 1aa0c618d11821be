"""Images as the model sees them: decoded, first frame only, shrunk, re-encoded, metadata gone.

The size: with `detail: high` (and `auto` for anything but tiny images) the service itself scales an
image to fit 2048 × 2048 and then so that its shortest side is at most 768 px, and bills
85 tokens plus 170 per 512 px tile of the result. Anything larger is thrown away on arrival, so
the bot scales to exactly that size first: the model sees the same pixels, the request and the
stored copy are a fraction of the upload, and the token price is known before sending.

Re-encoding from decoded pixels keeps nothing of the original file but its pixels: no EXIF (a
phone photo's GPS position), no comments, no text chunks, no ICC profile. The EXIF orientation is
applied first, so a phone photo is upright without it. This is CPU work: callers run it in a
thread (:mod:`assistant.attachments.reader`).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image

from storage.images import AttachedImage

# The service's own scaling for `detail: high` (OpenAI "Images and vision").
MODEL_FIT_PX = 2048
MODEL_SHORT_SIDE_PX = 768
TILE_PX = 512
BASE_TOKENS = 85
TILE_TOKENS = 170
# Decoding more pixels than this is refused: a 10 MiB PNG can hold a decompression bomb, and the
# model sees at most ~1.5 megapixels anyway. 50 MP covers every phone camera's normal output.
MAX_SOURCE_PIXELS = 50_000_000
# The formats the service accepts; Pillow is not asked to parse anything else.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
JPEG_QUALITY = 85
# A PNG (lossless, crisp for screenshots) larger than this is a photo: JPEG says it in far fewer bytes.
PNG_MAX_BYTES = 512 * 1024
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112
# EXIF orientation → the transposition that stands the image upright (as ImageOps.exif_transpose).
_TRANSPOSITIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UnreadableImage(Exception):
    """The bytes are not an image the bot can use; the message says why, for the member."""


@dataclass(frozen=True)
class Size:
    """Width and height in pixels."""

    width: int
    height: int


def model_size(width: int, height: int) -> Size:
    """Return the size the service scales an image to: within 2048 × 2048, shortest side ≤ 768."""
    scale = min(1.0, MODEL_FIT_PX / max(width, height))
    width_f, height_f = width * scale, height * scale
    scale = min(1.0, MODEL_SHORT_SIDE_PX / min(width_f, height_f))
    return Size(max(1, round(width_f * scale)), max(1, round(height_f * scale)))


def image_tokens(width: int, height: int) -> int:
    """Return the tokens an image costs: 85 plus 170 per 512 px tile once scaled for the model."""
    size = model_size(width, height)
    return BASE_TOKENS + TILE_TOKENS * math.ceil(size.width / TILE_PX) * math.ceil(size.height / TILE_PX)


def prepare_image(filename: str, data: bytes) -> AttachedImage:
    """Return `data` as the model should get it; raise UnreadableImage if it is not a usable image."""
    too_large = UnreadableImage(f"over {MAX_SOURCE_PIXELS // 1_000_000} megapixels")
    try:
        with warnings.catch_warnings():
            # The size is checked here, against a stricter limit than Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as source:
                if source.width * source.height > MAX_SOURCE_PIXELS:
                    raise too_large
                image = _upright_and_scaled(source)
                is_jpeg = source.format == "JPEG"
    except UnreadableImage:
        raise
    except Image.DecompressionBombError:
        raise too_large from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise UnreadableImage("not an image I can read") from exc
    media_type, encoded = _encode(image, prefer_jpeg=is_jpeg)
    return AttachedImage(
        filename=filename,
        media_type=media_type,
        data=encoded,
        width=image.width,
        height=image.height,
        tokens=image_tokens(image.width, image.height),
    )


def _upright_and_scaled(source: Image.Image) -> Image.Image:
    """Decode the first frame at the model's size, then stand it upright.

    Memory is the full decoded bitmap once (3 bytes a pixel: ~150 MB at 50 megapixels), never a
    second copy of it: a JPEG decodes straight at 1/2, 1/4 or 1/8 scale when the target allows,
    and everything else (mode conversion, rotation) happens on the small result.
    """
    orientation = source.getexif().get(_EXIF_ORIENTATION, 1)
    rotated = orientation in _ROTATED_ORIENTATIONS
    upright = model_size(*((source.height, source.width) if rotated else source.size))
    target = (upright.height, upright.width) if rotated else (upright.width, upright.height)
    source.draft("RGB", target)  # JPEG only
    source.seek(0)  # a GIF's or WEBP's first frame
    has_alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
    mode = "RGBA" if has_alpha else "RGB"
    # Palette and bilevel images cannot be resampled smoothly: they are converted first.
    frame = source if source.mode in ("RGB", "RGBA", "L", "LA") else source.convert(mode)
    if frame.size != target:
        frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if frame.mode != mode or frame is source:
        frame = frame.convert(mode)  # also detaches the result from the file
    if orientation in _TRANSPOSITIONS:
        frame = frame.transpose(_TRANSPOSITIONS[orientation])
    frame.info.clear()  # nothing of the file travels on: not EXIF, ICC, comments or text chunks
    return frame


def _encode(image: Image.Image, *, prefer_jpeg: bool) -> tuple[str, bytes]:
    """Return (media type, bytes): PNG for screenshots and drawings, JPEG for photos."""
    if not prefer_jpeg:
        png = io.BytesIO()
        image.save(png, format="PNG", optimize=False)
        if png.tell() <= PNG_MAX_BYTES:
            return "image/png", png.getvalue()
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "image/jpeg", jpeg.getvalue()
