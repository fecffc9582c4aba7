"""What an engine build is asked to do, in a form that crosses a process boundary (JSON).

Builds run in a child process (``worker.py``) because TensorRT's parser and builder can abort the
process instead of raising; the parent turns a crash into a clear error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stmfnet_trt.core.contract import INPUT_NAMES, SIZE_MULTIPLE
from stmfnet_trt.core.errors import ParameterError, UserError
from stmfnet_trt.core.flavours import DEFAULT_RTX_TARGETS

DEFAULT_WORKSPACE_MB = 4096


@dataclass(frozen=True)
class ProfileShapes:
    """One optimisation profile: (N, H, W) at min, opt and max, applied to all four frame inputs."""

    min: tuple[int, int, int]
    opt: tuple[int, int, int]
    max: tuple[int, int, int]

    @classmethod
    def parse(cls, text: str) -> ProfileShapes:
        """``NxHxW:NxHxW:NxHxW`` (H and W multiples of 128, the export contract)."""
        try:
            shapes = [tuple(int(v) for v in part.lower().split("x")) for part in text.split(":")]
        except ValueError as exc:
            raise ParameterError(
                "shapes", f"must be MIN:OPT:MAX, each NxHxW (e.g. 1x256x256); got {text!r}"
            ) from exc
        if len(shapes) != 3 or any(len(s) != 3 for s in shapes):
            raise ParameterError("shapes", f"must be MIN:OPT:MAX, each NxHxW (e.g. 1x256x256); got {text!r}")
        profile = cls(*shapes)  # type: ignore[arg-type]
        profile.validate()
        return profile

    def validate(self) -> None:
        for shape in (self.min, self.opt, self.max):
            n, h, w = shape
            if n < 1 or h < SIZE_MULTIPLE or w < SIZE_MULTIPLE or h % SIZE_MULTIPLE or w % SIZE_MULTIPLE:
                raise UserError(
                    f"profile shape {n}x{h}x{w}: N >= 1 and H, W multiples of {SIZE_MULTIPLE} "
                    "(the runtime pads frames to that)"
                )
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max, strict=True)):
            raise UserError(f"profile must satisfy min <= opt <= max in every dimension: {self}")

    def input_shapes(self) -> dict[str, tuple[tuple[int, ...], ...]]:
        """min/opt/max NCHW per input name."""
        return {
            name: tuple((n, 3, h, w) for n, h, w in (self.min, self.opt, self.max)) for name in INPUT_NAMES
        }

    def __str__(self) -> str:
        return ":".join("x".join(str(v) for v in s) for s in (self.min, self.opt, self.max))


@dataclass(frozen=True)
class BuildRequest:
    """Everything the worker needs; the engine's identity is derived from it (see sidecar)."""

    flavour: str
    onnx: str
    plugin: str
    profiles: list[ProfileShapes]
    precision: str = "fp32"
    workspace_mb: int = DEFAULT_WORKSPACE_MB
    rtx_targets: list[int] = field(default_factory=lambda: list(DEFAULT_RTX_TARGETS))
    embed_plugin: bool = True
    timing_cache: str | None = None
    # Where the ONNX came from (e.g. the FP32 export and quality gate of an FP16/INT8 model):
    # recorded in the sidecar, not part of the engine's identity (the ONNX sha256 is).
    provenance: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> BuildRequest:
        data = json.loads(text)
        data["profiles"] = [
            ProfileShapes(*(tuple(s) for s in (p["min"], p["opt"], p["max"]))) for p in data["profiles"]
        ]
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json())
