"""Model widgets: pick a kind, fill in its parameters from the class's schema (the CLI flags use the same one)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.models import DEFAULT_KIND, MODEL_KINDS, Param, Recommender, model_class
from pages.components.language import N_, _


def kind_picker(key: str = "kind") -> str:
    """A model kind, the recommended one preselected, each shown with its class's label."""
    kinds = list(MODEL_KINDS)
    return st.selectbox(_("Model"), kinds, index=kinds.index(DEFAULT_KIND),
                        format_func=lambda k: _(model_class(k).label) if model_class(k).label else k, key=key)


def registered_model_picker(models: list, active, label: str = N_("Model"), key: str = "model",
                            help: str | None = None) -> int:
    """A registered model's id, the active one preselected (`models`: registry rows, newest first)."""
    labels = {(_("{name} v{version} ({kind}) · active") if m.is_active else _("{name} v{version} ({kind})")).format(
        name=m.name, version=m.version, kind=m.kind): m.id for m in models}
    default = next((i for i, mid in enumerate(labels.values()) if active is not None and mid == active.id), 0)
    return labels[st.selectbox(_(label), list(labels), index=default, key=key, help=help)]


def _param_input(container, param: Param) -> Any:
    if param.type is bool:
        return container.checkbox(_(param.label) if param.label else param.name, bool(param.default), key=param.name,
                              help=_(param.help) if param.help else None)
    cast = param.type
    return container.number_input(
        _(param.label) if param.label else param.name, cast(param.low), cast(param.high), cast(param.default),
        None if param.step is None else cast(param.step), format=param.fmt, key=param.name,
        help=_(param.help) if param.help else None,
    )


def param_inputs(cls: type[Recommender], hide_groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form part of `cls.param_schema()`, four to a row, each widget keyed by its parameter name."""
    shown = [p for p in cls.param_schema() if p.in_form and p.group not in hide_groups]
    values: dict[str, Any] = {}
    for start in range(0, len(shown), 4):
        columns = st.columns(4)
        for column, param in zip(columns, shown[start : start + 4]):
            values[param.name] = _param_input(column, param)
    return values
