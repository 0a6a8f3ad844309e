"""Thumbnails: size, orientation, transparency, frames, and refusals (no network)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hubsd.media.image import make_thumbnail
from hubsd.web.http import HttpError
from tests.media.origin import png, png_claiming


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def test_a_sideways_photo_is_thumbnailed_upright() -> None:
    photo = Image.new("RGB", (800, 600), (250, 0, 0))
    photo.paste((0, 0, 250), (0, 0, 400, 600))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    thumb = make_thumbnail(encoded(photo, "JPEG", exif=exif), 10**8, 256)
    assert (thumb.width, thumb.height) == (600, 800)
    image = opened(thumb.jpeg)
    assert image.size == (192, 256)
    red, green, blue = image.convert("RGB").getpixel((96, 10))  # the top was the left
    assert blue > 200 and red < 50


def test_transparency_becomes_white_and_animations_give_their_first_frame() -> None:
    clear = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    image = opened(make_thumbnail(encoded(clear, "PNG"), 10**8, 64).jpeg)
    assert image.size == (64, 32)
    assert min(image.convert("RGB").getpixel((10, 10))) > 240
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 255, 0))]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    red, green, _ = opened(make_thumbnail(gif, 10**8, 64).jpeg).convert("RGB").getpixel((5, 5))
    assert red > 200 and green < 60


def test_a_small_image_is_not_enlarged() -> None:
    thumb = make_thumbnail(png(20, 10), 10**8, 512)
    assert opened(thumb.jpeg).size == (20, 10)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (png_claiming(100_000, 100_000), "image_too_large"),
        (png(2000, 1000), "image_too_large"),  # over the 1 000 000 pixels given below
        (b"GIF89a", "bad_image"),
        (b"", "bad_image"),
        (b"%PDF-1.4 not a picture", "bad_image"),
        (png(100, 100)[:200], "bad_image"),
        (encoded(Image.new("RGB", (8, 8)), "TIFF"), "bad_image"),  # a format not opened
    ],
)
def test_bombs_and_broken_or_unread_formats_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(HttpError) as e:
        make_thumbnail(data, 1_000_000, 128)
    assert (e.value.status, e.value.code) == (422, code)
