"""The release pipeline as stages (geo → layers → tiles), each cached by the digest of its
inputs, code and options, assembled atomically into one release."""

from lantian.pipeline.build import build_release, code_files, inputs_digest
from lantian.pipeline.inputs import (
    DEMO_DIR,
    BuildInputs,
    BuildOptions,
    BuildResult,
    demo_inputs,
    observation_files,
)

__all__ = ["DEMO_DIR", "BuildInputs", "BuildOptions", "BuildResult", "build_release",
           "code_files", "demo_inputs", "inputs_digest", "observation_files"]
