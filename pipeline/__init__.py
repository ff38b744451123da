"""The release pipeline as stages (geo → layers → tiles), each cached by the digest of its
inputs, code and options, assembled atomically into one release.

Names are imported on first use, so importing a submodule (or checking whether a build is
needed) does not load every stage."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lantian.pipeline.build import build_release, code_files, inputs_digest
    from lantian.pipeline.inputs import (
        DEMO_DIR,
        BuildInputs,
        BuildOptions,
        BuildResult,
        demo_inputs,
        observation_files,
    )

_EXPORTS = {
    "build_release": "build", "code_files": "build", "inputs_digest": "build",
    "DEMO_DIR": "inputs", "BuildInputs": "inputs", "BuildOptions": "inputs",
    "BuildResult": "inputs", "demo_inputs": "inputs", "observation_files": "inputs",
}
__all__ = ["DEMO_DIR", "BuildInputs", "BuildOptions", "BuildResult", "build_release",
           "code_files", "demo_inputs", "inputs_digest", "observation_files"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lantian.pipeline' has no attribute {name!r}")
    return getattr(import_module(f"lantian.pipeline.{_EXPORTS[name]}"), name)
