"""``stmfnet-trt triton-repo``: a model repository that a stock ``tritonserver`` loads as is.

Layout written (``REPO/``)::

    README.md                    how to start tritonserver on it (plugin loading included)
    plugins/<library>.so         the TensorRT plugin or the ONNX Runtime custom-op library, if needed
    stmfnet_mini/config.pbtxt    name, backend, tensors, max_batch_size, dynamic batching, instances
    stmfnet_mini/1/model.plan    an engine (tensorrt_plan), or
    stmfnet_mini/1/model.onnx    an ONNX graph (onnxruntime backend, CPU instances by default)

Custom code, and which Triton loads it how (checked in Triton's docs and the tensorrt_backend
history): Triton's TensorRT backend does not find plugins by itself; it loads the libraries named
by ``--backend-config=tensorrt,plugins="/path/lib.so"`` (release 22.09 on) into its TensorRT's
plugin registry. ``LD_PRELOAD`` does not work for this library: it does not link libnvinfer and
self-registers only in TensorRT libraries already loaded when it is, which a preloaded library
never finds. For ONNX, the plugin variant's AdaptiveWarp op is registered per model by
``model_operations { op_library_filename }`` in the config (ONNX Runtime backend); the portable
variant needs no library at all, which is why it is the one to deploy on CPU-only nodes.

Engines are code: the engine is verified against its sidecar's ``engine_sha256`` before it is
described, and the copy written into the repository is verified again. Only classic TensorRT
engines are packaged: Triton's ``tensorrt_plan`` backend links classic TensorRT, which cannot
load a TensorRT-RTX engine.

Tensor names and dims are read from the model (the ONNX graph, or the engine's sidecar: an engine
cannot be opened without a GPU) and checked against the contract before anything is written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from stmfnet_trt.core.errors import OutputExistsError, Param, UserError
from stmfnet_trt.core.warp_op import OP_DOMAIN
from stmfnet_trt.engine.request import ProfileShapes
from stmfnet_trt.engine.sidecar import sha256_of, sidecar_path, verify_engine
from stmfnet_trt.io.atomic import AtomicOutput
from stmfnet_trt.plugins import ort_op_library_path, trt_plugin_library_path
from stmfnet_trt.runtime.backends.triton_model import (
    CONFIG_DATATYPE,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_VERSION,
    DEFAULT_QUEUE_DELAY_US,
    INPUT_NAMES,
    OUTPUT_NAME,
    WINDOW_DIMS,
)

ENGINE_SUFFIXES = (".plan", ".engine", ".trt")
PLUGINS_DIR = "plugins"
# Triton's onnxruntime backend reads any symbolic dimension as -1.
_DYNAMIC = -1


@dataclass(frozen=True)
class RepositoryOptions:
    """What the generated ``config.pbtxt`` says.

    ``instances``: model instances (one per GPU is a good start for engines; CPU instances for
    ONNX each take their own threads). ``library_dir``: where the server will find the copied
    plugin/op library, for a repository mounted elsewhere (``/models/plugins`` in a container);
    default: its absolute path here. ``gpu_instances``: ONNX on the CUDA EP instead of the CPU.
    """

    model_name: str = DEFAULT_MODEL_NAME
    version: int = DEFAULT_MODEL_VERSION
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US
    instances: int = 1
    gpu_instances: bool = False
    library_dir: str | None = None
    plugin: Path | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class ModelFacts:
    """What the model file says about itself, in Triton's terms (dims without the batch axis)."""

    kind: str  # "onnx" or "engine"
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    max_batch: int | None  # the engine profile's largest N; None: unlimited (ONNX)
    library: Path | None  # custom code the model needs at load time
    extra_files: tuple[str, ...] = ()  # ONNX external data, next to the graph


def _onnx_dims(value_info) -> tuple[int, ...]:
    dims = value_info.type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else _DYNAMIC for d in dims)


def describe_onnx(path: Path) -> ModelFacts:
    """Tensors, custom op use and external data files of an ONNX graph (weights not loaded)."""
    try:
        import onnx
    except ImportError as exc:
        raise UserError(
            "reading an ONNX model needs the onnx package: pip install 'stmfnet-trt[export]'"
        ) from exc
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends for damaged files
        raise UserError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from exc
    tensor_type = onnx.TensorProto.FLOAT
    for value in [*model.graph.input, *model.graph.output]:
        if value.type.tensor_type.elem_type != tensor_type:
            raise UserError(f"{path}: tensor {value.name} is not float32; the contract is FP32 in and out")
    initializers = {i.name for i in model.graph.initializer}
    inputs = {v.name: _onnx_dims(v) for v in model.graph.input if v.name not in initializers}
    outputs = {v.name: _onnx_dims(v) for v in model.graph.output}
    uses_op = any(node.domain == OP_DOMAIN for node in model.graph.node)
    extra = sorted(
        {
            entry.value
            for tensor in model.graph.initializer
            if tensor.data_location == onnx.TensorProto.EXTERNAL
            for entry in tensor.external_data
            if entry.key == "location"
        }
    )
    return ModelFacts("onnx", inputs, outputs, None, ort_op_library_path() if uses_op else None, tuple(extra))


def describe_engine(path: Path, plugin: Path | None) -> ModelFacts:
    """Tensors and batch limit of an engine from its sidecar, and the plugin build it needs."""
    sidecar = verify_engine(path)
    if sidecar["flavour"] != "tensorrt":
        raise UserError(
            f"{path} is a TensorRT-RTX engine; Triton's tensorrt_plan backend runs classic TensorRT "
            "engines only: build one with `stmfnet-trt build --target tensorrt`, or serve this one "
            "with `stmfnet-trt serve --backend tensorrt --engine`"
        )
    profiles = [ProfileShapes.parse(text) for text in sidecar["profiles"]]
    library = plugin or trt_plugin_library_path()
    if sidecar.get("plugin_sha256") and sha256_of(library) != sidecar["plugin_sha256"]:
        raise UserError(
            f"{library} is not the plugin build {path.name} was made with (sha256 differs from its "
            "sidecar); pass ",
            Param("plugin"),
            " with that build, or rebuild the engine",
        )
    # Engines are built from the contract's graph, with dynamic H and W inside the profile.
    dims = {name: WINDOW_DIMS for name in INPUT_NAMES}
    return ModelFacts("engine", dims, {OUTPUT_NAME: WINDOW_DIMS}, max(p.max[0] for p in profiles), library)


def describe_model(path: Path, plugin: Path | None = None) -> ModelFacts:
    """``describe_onnx`` or ``describe_engine`` by file type, with the contract checked."""
    if not path.is_file():
        raise UserError(f"model not found: {path}")
    if path.suffix == ".onnx":
        facts = describe_onnx(path)
    elif path.suffix in ENGINE_SUFFIXES:
        facts = describe_engine(path, plugin)
    else:
        raise UserError(f"{path}: expected an .onnx file or an engine ({', '.join(ENGINE_SUFFIXES)})")
    check_contract(facts, path)
    return facts


def check_contract(facts: ModelFacts, path: Path) -> None:
    """Refuse a model whose tensors are not the contract's frame0..frame3 -> middle (N, 3, H, W)."""
    if sorted(facts.inputs) != sorted(INPUT_NAMES) or list(facts.outputs) != [OUTPUT_NAME]:
        raise UserError(
            f"{path}: tensors {sorted(facts.inputs)} -> {sorted(facts.outputs)}; the contract is "
            f"{list(INPUT_NAMES)} -> ['{OUTPUT_NAME}']"
        )
    for name, dims in {**facts.inputs, **facts.outputs}.items():
        if facts.kind == "onnx" and (len(dims) != 4 or dims[0] != _DYNAMIC):
            raise UserError(f"{path}: {name} has dims {dims}; the contract is (N, 3, H, W) with dynamic N")
        window = dims[1:] if facts.kind == "onnx" else dims
        if len(window) != 3 or window[0] != 3:
            raise UserError(f"{path}: {name} has {window[0] if window else '?'} channels; expected 3 (RGB)")


def _tensor_block(kind: str, tensors: dict[str, tuple[int, ...]]) -> str:
    entries = []
    for name, dims in tensors.items():
        window = dims[1:] if len(dims) == 4 else dims
        entries.append(
            f'  {{\n    name: "{name}"\n    data_type: {CONFIG_DATATYPE}\n'
            f"    dims: [ {', '.join(str(d) for d in window)} ]\n  }}"
        )
    return f"{kind} [\n" + ",\n".join(entries) + "\n]\n"


def config_text(facts: ModelFacts, options: RepositoryOptions, library_path: str | None) -> str:
    """The ``config.pbtxt`` for ``facts`` (Triton's text protobuf format)."""
    max_batch = (
        options.max_batch_size if facts.max_batch is None else min(options.max_batch_size, facts.max_batch)
    )
    engine = facts.kind == "engine"
    kind = "KIND_GPU" if engine or options.gpu_instances else "KIND_CPU"
    lines = [
        f'name: "{options.model_name}"',
        'platform: "tensorrt_plan"' if engine else 'backend: "onnxruntime"',
        f"max_batch_size: {max_batch}",
        _tensor_block("input", facts.inputs),
        _tensor_block("output", facts.outputs),
        f"dynamic_batching {{\n  max_queue_delay_microseconds: {options.queue_delay_us}\n}}",
        f"instance_group [\n  {{\n    count: {options.instances}\n    kind: {kind}\n  }}\n]",
        f"version_policy: {{ specific: {{ versions: [ {options.version} ] }} }}",
    ]
    if facts.kind == "onnx" and library_path is not None:
        lines.append(f'model_operations {{\n  op_library_filename: "{library_path}"\n}}')
    return "\n".join(lines) + "\n"


def _readme(facts: ModelFacts, options: RepositoryOptions, library_path: str | None) -> str:
    name = options.model_name
    start = ["# Triton model repository for ST-MFNet Mini", "", f"Model `{name}` version {options.version}, "]
    if facts.kind == "engine":
        start[-1] += "a TensorRT engine. The engine needs our AdaptiveWarp plugin library,"
        start += [
            "which Triton's TensorRT backend loads when told to (Triton 22.09 and later):",
            "",
            "```",
            f'tritonserver --model-repository=$PWD --backend-config=tensorrt,plugins="{library_path}"',
            "```",
            "",
            "(`LD_PRELOAD` does not work: the library registers itself only in a TensorRT that is",
            "already loaded when it is.) The engine and the plugin library are executable code: serve",
            "them only from a builder you trust; `model.plan.json` holds the engine's sha256.",
            "",
            "The plugin must be the build the engine was made with (checked against its sidecar when",
            "this repository was written), and the engine must run on the GPU model and TensorRT",
            "version it was built for: use the Triton release whose TensorRT matches.",
        ]
    else:
        start[-1] += "an ONNX graph on Triton's ONNX Runtime backend."
        if library_path:
            start += [
                "",
                "The graph uses our AdaptiveWarp op; `config.pbtxt` registers its library:",
                f"`{library_path}`.",
            ]
        start += ["", "```", "tritonserver --model-repository=$PWD", "```"]
    start += [
        "",
        "Clients send frame0..frame3 FP32 [N, 3, H, W] with H and W multiples of 128 and get `middle`;",
        "`stmfnet-trt run --backend triton --url HOST:8001` pads, crops and batches for you.",
        "",
    ]
    return "\n".join(start)


def write_repository(model: Path, repo: Path, options: RepositoryOptions = RepositoryOptions()) -> Path:
    """Write the repository for ``model`` into ``repo``; returns the model's folder.

    Built in a hidden sibling folder and renamed into place when complete, so a failure leaves
    no half-written repository behind (``AtomicOutput``).
    """
    model = Path(model)
    repo = Path(repo)
    facts = describe_model(model, options.plugin)
    if repo.exists() and not options.overwrite:
        raise OutputExistsError(repo)
    if not repo.parent.is_dir():
        raise UserError(f"{repo}: the folder {repo.parent} does not exist")
    output = AtomicOutput(repo, directory=True, overwrite=options.overwrite)
    try:
        library_path = None
        if facts.library is not None:
            (output.temp / PLUGINS_DIR).mkdir()
            shutil.copy2(facts.library, output.temp / PLUGINS_DIR / facts.library.name)
            base = options.library_dir or str((repo / PLUGINS_DIR).resolve())
            library_path = f"{base.rstrip('/')}/{facts.library.name}"
        model_dir = output.temp / options.model_name
        version_dir = model_dir / str(options.version)
        version_dir.mkdir(parents=True)
        target = "model.plan" if facts.kind == "engine" else "model.onnx"
        shutil.copy2(model, version_dir / target)
        for extra in facts.extra_files:
            shutil.copy2(model.parent / extra, version_dir / extra)
        if facts.kind == "engine":
            shutil.copy2(sidecar_path(model), version_dir / f"{target}.json")
            verify_engine(version_dir / target)  # what is packaged, not what was described
        (model_dir / "config.pbtxt").write_text(config_text(facts, options, library_path))
        (output.temp / "README.md").write_text(_readme(facts, options, library_path))
    except BaseException:
        output.discard()
        raise
    output.commit()
    return repo / options.model_name


def load_config(path: Path):
    """Parse a ``config.pbtxt`` with Triton's own schema (``tritonclient``'s ``model_config_pb2``).

    Raises ``google.protobuf.text_format.ParseError`` for anything Triton would reject as
    malformed; returns the ``ModelConfig`` message.
    """
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse(Path(path).read_text(), model_config_pb2.ModelConfig())


def config_summary(path: Path) -> str:
    """``load_config`` as JSON (names, dims, batching, backend), for tools and tests."""
    from google.protobuf.json_format import MessageToDict

    return json.dumps(MessageToDict(load_config(path), preserving_proto_field_name=True))
