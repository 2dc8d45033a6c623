"""The image formats bulk jobs write (stdlib only: the encoding pool's processes import it too)."""

from __future__ import annotations

IMAGE_FORMATS = ("png", "jpeg")
JPEG_QUALITY = 90  # the default, stored with every jpeg job's params so a resumed job encodes as it began
