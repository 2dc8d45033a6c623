"""broken-step's declaration (TF-free): tiny-cgan's config and signature under its own name."""

from __future__ import annotations

import dataclasses

from tests.support.tiny_cgan.declaration import DECLARATION as TINY

DECLARATION = dataclasses.replace(TINY, name="broken-step", summary="a test's model whose train step raises ValueError")
