"""The models this deployment offers: the registry's built-in ones plus those CATGAN_EXTRA_MODELS plugs in.

The API factory and every worker call `register_extra_models(settings)` once at start-up, so both sides of a
deployment know the same models. Only the TF-free declaration module is loaded here; a model version's kind
and signature come from the record its train job stored (`ModelVersion.kind`, `.signature`).
"""

from __future__ import annotations

from core.settings import Settings
from gans.registry import declaration, register

MODEL_COLUMN_MAX = 32  # jobs.model and model_versions.model are String(32)


def register_extra_models(settings: Settings) -> None:
    """Plug in CATGAN_EXTRA_MODELS and load each one's declaration now, so a wrong module fails start-up loudly.

    Raises:
        ValueError: a name longer than the model column, or a declaration module that is missing or misnamed.
    """
    for name, declaration_module, spec_module in settings.extra_models:
        if not 1 <= len(name) <= MODEL_COLUMN_MAX:
            raise ValueError(f"CATGAN_EXTRA_MODELS: model name {name!r} must be 1-{MODEL_COLUMN_MAX} characters")
        register(name, declaration_module=declaration_module, spec_module=spec_module)
        try:
            declaration(name)
        except (ImportError, AttributeError, KeyError) as exc:
            raise ValueError(f"CATGAN_EXTRA_MODELS: model {name!r} has no usable DECLARATION in "
                             f"{declaration_module!r}: {exc}") from exc

