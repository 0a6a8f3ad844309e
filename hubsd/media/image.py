"""
Server-made thumbnails of fetched images (Pillow).

Runs in a worker thread (Pillow's decoders release the GIL). Decompression
bombs are refused before any pixel is decoded: the header gives the size,
and an image of more than C{max_pixels} pixels is a 422 ``image_too_large``;
Pillow's own bomb check (``Image.MAX_IMAGE_PIXELS``) stays on behind it.
Only the formats below are opened, so a body that claims to be an image
cannot reach Pillow's rarer decoders. A body Pillow cannot read is a 422
``bad_image``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from hubsd.web.http import HttpError

# Media types thumbnailed, and the Pillow formats a body of them may be.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_ORIENTATION = 0x0112  # the EXIF tag

if Image.MAX_IMAGE_PIXELS is None:  # pragma: no cover - someone turned Pillow's check off
    Image.MAX_IMAGE_PIXELS = 89_478_485


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    """The original image's width and height as shown (EXIF orientation applied)."""
    height: int


def make_thumbnail(data: bytes, max_pixels: int, edge: int) -> Thumbnail:
    """A JPEG at most C{edge} pixels wide and high, of the first frame of C{data}."""
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise HttpError(
                    422,
                    "image_too_large",
                    f"the image is {width}x{height} pixels; at most {max_pixels} are thumbnailed",
                )
            # A photo's camera orientation: a sideways image is shown upright.
            if image.getexif().get(_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width
            image.draft("RGB", (edge, edge))  # JPEG: decode at a reduced scale
            image.thumbnail((edge, edge))
            flat = _flatten(ImageOps.exif_transpose(image))
            out = io.BytesIO()
            flat.save(out, "JPEG", quality=85)
    except Image.DecompressionBombError as e:
        raise HttpError(422, "image_too_large", f"the image is too large to decode: {e}") from None
    except UnidentifiedImageError:
        raise HttpError(
            422, "bad_image", "the body is not an image in a format hubsd reads"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:
        raise HttpError(422, "bad_image", f"the image is broken: {e}") from None
    return Thumbnail(out.getvalue(), width, height)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparency becomes white rather than black."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
