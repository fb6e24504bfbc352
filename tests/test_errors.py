"""Every public biohub error class derives from ``BiohubError`` (the family the CLI reports in one line)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import biohub
from biohub.errors import BiohubError

INTERNAL = {"RecordRejected"}  # control flow inside a reader, turned into a Rejection; never reaches a user


def _error_classes() -> dict[str, type]:
    found = {}
    root = Path(biohub.__file__).parent
    for path in sorted(root.rglob("*.py")):  # every module file
        name = ".".join(("biohub", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        if name == "biohub.cli":
            continue
        module = importlib.import_module(name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module.__name__
                    and not name.startswith("_") and name not in INTERNAL):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_error_class_is_a_biohub_error() -> None:
    classes = _error_classes()
    assert {"biohub.io.InputError", "biohub.hub.push.PushError", "biohub.converters.base.ConvertError"} <= set(classes)
    assert [name for name, cls in classes.items() if not issubclass(cls, BiohubError)] == []
