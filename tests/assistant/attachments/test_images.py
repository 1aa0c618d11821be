"""Images as the model gets them: scaled like the service, upright, first frame, no metadata."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from assistant.attachments.images import (
    MODEL_FIT_PX,
    MODEL_SHORT_SIDE_PX,
    UnreadableImage,
    image_tokens,
    model_size,
    prepare_image,
)
from tests.fakes import images


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (1024, 1024, 765),  # OpenAI's worked example: 768 × 768, four tiles
        (2048, 4096, 1105),  # → 1024 × 2048 → 768 × 1536: six tiles
        (4032, 3024, 765),  # a phone photo → 1024 × 768
        (100, 100, 255),  # one tile
        (10000, 100, 765),  # a long strip → 2048 × 20: four tiles
    ],
)
def test_tokens_follow_the_tile_formula(width: int, height: int, tokens: int) -> None:
    assert image_tokens(width, height) == tokens


@given(st.integers(1, 20000), st.integers(1, 20000))
def test_model_size_fits_the_service_and_never_grows(width: int, height: int) -> None:
    size = model_size(width, height)
    assert max(size.width, size.height) <= MODEL_FIT_PX
    assert min(size.width, size.height) <= max(MODEL_SHORT_SIDE_PX, 1)
    assert size.width <= width and size.height <= height
    assert model_size(size.width, size.height) == size  # the service would not scale it again


def test_a_phone_photo_loses_its_gps_comment_and_exif_and_stands_upright() -> None:
    original = images.jpeg_with_gps(400, 300, orientation=6)  # stored sideways, EXIF says rotate
    prepared = prepare_image("photo.jpg", original)
    sent = Image.open(io.BytesIO(prepared.data))
    assert prepared.media_type == "image/jpeg"
    assert (sent.width, sent.height) == (300, 400)
    assert not sent.getexif()
    assert "comment" not in sent.info and "exif" not in sent.info
    assert images.SECRET_COMMENT not in prepared.data and b"PhoneMaker" not in prepared.data


def test_a_large_screenshot_is_scaled_to_what_the_model_uses_as_png_without_text_chunks() -> None:
    prepared = prepare_image("shot.png", images.png(3000, 2000))
    sent = Image.open(io.BytesIO(prepared.data))
    assert (prepared.media_type, sent.size) == ("image/png", (1152, 768))
    assert prepared.tokens == image_tokens(1152, 768) == 1105
    assert not sent.info and images.SECRET_COMMENT not in prepared.data


def test_a_gif_sends_its_first_frame_and_a_webp_is_read() -> None:
    gif = Image.open(io.BytesIO(prepare_image("a.gif", images.animated_gif()).data))
    assert gif.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    assert getattr(gif, "n_frames", 1) == 1
    assert prepare_image("a.webp", images.webp(80, 60)).width == 80


@pytest.mark.parametrize("data", [images.corrupt_image(), b"", b"GIF89a", b"BM" + b"\0" * 100])
def test_bytes_that_are_not_an_accepted_image_are_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableImage):
        prepare_image("bad.png", data)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, format="PNG")  # 100 megapixels in a small file
    with pytest.raises(UnreadableImage, match="megapixels"):
        prepare_image("bomb.png", out.getvalue())
