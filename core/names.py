"""Model names: one rule for every name a model is published under, given by a user or derived from input.

A model name becomes a folder of the model repository (`<root>/<name>/<version>/`), an entry of
`models.config`, a URL path segment and a `String(100)` column, so it must be safe as all four. The
rule: 1-100 characters of `[a-z0-9._-]`, the first a letter or digit (so never `.`, `..`, a hidden
folder or an option-like `-x`). A given name that breaks it is refused; a derived one (from a
dataset name) is slugged to fit it.
"""

from __future__ import annotations

import re
import unicodedata

from core.errors import InvalidInput

MODEL_NAME_MAX = 100
MODEL_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
MODEL_NAME_RULE = ("use 1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
_OUTSIDE = re.compile(r"[^a-z0-9._-]+")
_SEPARATORS = re.compile(r"[._-]{2,}")
FALLBACK_SLUG = "model"


def is_model_name(name: object) -> bool:
    """Whether `name` satisfies the model-name rule."""
    return isinstance(name, str) and MODEL_NAME_PATTERN.fullmatch(name) is not None


def check_model_name(name: object, field: str = "model_name") -> str:
    """Return `name` if it satisfies the rule, else refuse it (a 422 that says the rule).

    Raises:
        InvalidInput: code `invalid_model_name`.
    """
    if not is_model_name(name):
        raise InvalidInput(f"model name {shown(name)} is not valid: {MODEL_NAME_RULE}", code="invalid_model_name",
                           fields={field: [f"Invalid model name: {MODEL_NAME_RULE}."]})
    assert isinstance(name, str)
    return name


def shown(name: object, limit: int = 120) -> str:
    """`name` as quoted in a message, cut short: a refused value is not echoed back at any length."""
    text = repr(name)
    return text if len(text) <= limit else f"{text[:limit]}...'"


def slug_model_name(text: str) -> str:
    """A name that satisfies the rule, made from any text: ASCII-folded, lowercased, other runs become '-'.

    Runs of separators collapse to one '-' (`../../x` → `x`), leading and trailing separators go, and the
    result is cut to 100 characters; text with nothing usable left becomes `model`.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = _SEPARATORS.sub("-", _OUTSIDE.sub("-", ascii_text)).strip("._-")
    slug = slug[:MODEL_NAME_MAX].rstrip("._-")
    return slug if is_model_name(slug) else FALLBACK_SLUG


def derived_model_name(*parts: str) -> str:
    """The slugged default name of a train job, e.g. `dcgan-my-cats` from ("dcgan", "My Cats")."""
    return slug_model_name("-".join(parts))
