"""Real image files made in the tests: PNG, JPEG (with EXIF GPS), WEBP, animated GIF, and broken ones."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import ExifTags, Image

# A position that must never reach the model (latitude 52°22'7" N, longitude 4°53'30" E).
GPS_LATITUDE = (52.0, 22.0, 7.0)
GPS_LONGITUDE = (4.0, 53.0, 30.0)
SECRET_COMMENT = b"taken at home, 12 Secret Lane"


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """Return a solid-colour PNG with a text chunk."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET_COMMENT.decode())
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps(width: int = 400, height: int = 300, *, orientation: int = 1) -> bytes:
    """Return a JPEG photo carrying EXIF GPS coordinates, an orientation and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: GPS_LATITUDE, 3: "E", 4: GPS_LONGITUDE})
    out = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    gradient.save(out, format="JPEG", exif=exif, comment=SECRET_COMMENT, quality=90)
    return out.getvalue()


def webp(width: int = 80, height: int = 60) -> bytes:
    """Return a WEBP image."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 200, 30)).save(out, format="WEBP")
    return out.getvalue()


def animated_gif(width: int = 40, height: int = 30) -> bytes:
    """Return a two-frame GIF: a red first frame, then a blue one."""
    frames = [Image.new("RGB", (width, height), c).convert("P") for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def corrupt_image() -> bytes:
    """Return a PNG signature followed by garbage."""
    return b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10


@dataclass(frozen=True)
class SentImage:
    """An image as the model received it, decoded from its data URL."""

    media_type: str
    data: bytes
    image: Image.Image


def decode_data_url(url: str) -> SentImage:
    """Decode a `data:image/...;base64,...` URL the bot sent."""
    header, _, payload = url.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64"), header
    data = base64.b64decode(payload, validate=True)
    image = Image.open(io.BytesIO(data))
    image.load()
    return SentImage(header[5:].removesuffix(";base64"), data, image)
