"""The texture decoder's stride-2 transposed convolutions, as exported and in two cheaper forms.

    python bench/upconv.py [--model FILE] [--sizes 256x256 544x960] [--runs 20] [--threads 2]
                           [--json bench/results/upconv.json] [--section cpu_profile_upconv]

``ort_profile.py`` counts the three ``dyntex_generator/decoder.*/upconv`` ConvTranspose nodes
(kernel 4, stride 2, pad 1) at ~6.3 GFLOP per 256x256 frame, ~7 % of a CPU run, at 99-123 GFLOP/s
where ORT's NCHWc convolutions reach 160-310. Such a transposed convolution is four ordinary
convolutions, one per output phase (row and column parity), each reading a 2x2 neighbourhood:

* ``subpixel3x3``: one 3x3 convolution (pad 1) with 4x the output channels, the taps a phase does
  not use set to 0, then ``DepthToSpace`` (CRD): 2.25x the arithmetic, all on the Conv path;
* ``phases2x2``: one 2x2 convolution (pad 1) with 4x the output channels, no zero taps (the
  exported arithmetic, x (1 + 1/H)(1 + 1/W)), then each phase sliced at its offset, concatenated
  and ``DepthToSpace``: the arithmetic of the original plus the slices' copies.

Each form is a one-node (or few-node) graph built here with the node's own weight (from the model,
or random of its shape) and timed in ORT with ``--threads`` intra-op threads, the session settings
of ``runtime.ort_session``, on the input the node gets at each frame size (5 time steps; the three
decoders read 1/8, 1/4 and 1/2 of the frame's side). Outputs are checked against the ConvTranspose
(max abs difference, float rounding only). Nothing in the exported graphs changes: this measures
what an export change would gain, for a follow-up.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import parse_size, write_json, write_section  # noqa: E402

TIME_STEPS = 5  # the texture branch decodes five time steps as a batch
DECODERS = {  # node name fragment -> input side as a fraction of the frame's
    "decoder.1/upconv": 8,
    "decoder.2/upconv": 4,
    "decoder.4/upconv": 2,
}
FORMS = ("convtranspose", "subpixel3x3", "phases2x2")
OPSET = 17


def decoder_weights(model: Path | None) -> dict[str, np.ndarray]:
    """(C_in, C_out, 4, 4) weight of each decoder upconv: the model's, or seeded random ones of the
    exported shapes when no model is given (speed does not depend on the values)."""
    if model is None:
        rng = np.random.default_rng(0)
        shapes = {"decoder.1/upconv": (192, 24), "decoder.2/upconv": (144, 16), "decoder.4/upconv": (96, 16)}
        return {
            name: rng.normal(0, 0.05, (*shape, 4, 4)).astype(np.float32) for name, shape in shapes.items()
        }
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model)).graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    weights = {}
    for node in graph.node:
        for name in DECODERS:
            if node.op_type == "ConvTranspose" and name in node.name:
                weights[name] = numpy_helper.to_array(initializers[node.input[1]])
    missing = set(DECODERS) - set(weights)
    if missing:
        raise SystemExit(f"{model}: no ConvTranspose node for {sorted(missing)}")
    return weights


def phase_taps(weight: np.ndarray) -> np.ndarray:
    """(4 C_out, C_in, 3, 3) weight of the 3x3 form: output channel ``4 o + 2 a + b`` computes
    output pixel (2 m + a, 2 n + b) of channel o from input rows m - 1..m + 1 and columns n - 1..n + 1.

    With stride 2 and pad 1, output row 2 m reads input row m with tap 1 and m - 1 with tap 3;
    row 2 m + 1 reads m + 1 with tap 0 and m with tap 2 (columns alike).
    """
    taps = {0: {-1: 3, 0: 1}, 1: {0: 2, 1: 0}}  # phase -> {input offset: kernel tap}
    c_in, c_out = weight.shape[:2]
    out = np.zeros((c_out, 2, 2, c_in, 3, 3), np.float32)
    for a in (0, 1):
        for b in (0, 1):
            for dy, ky in taps[a].items():
                for dx, kx in taps[b].items():
                    out[:, a, b, :, dy + 1, dx + 1] = weight[:, :, ky, kx].T
    return out.reshape(4 * c_out, c_in, 3, 3)


def build(form: str, weight: np.ndarray) -> bytes:
    """A serialized ONNX model of one form: input ``x`` (N, C_in, H, W) -> ``y`` (N, C_out, 2H, 2W)."""
    from onnx import TensorProto, helper, numpy_helper

    c_in, c_out = weight.shape[:2]
    nodes, initializers = [], []
    if form == "convtranspose":
        initializers.append(numpy_helper.from_array(weight, "w"))
        nodes.append(
            helper.make_node(
                "ConvTranspose", ["x", "w"], ["y"], kernel_shape=[4, 4], strides=[2, 2], pads=[1] * 4
            )
        )
    elif form == "subpixel3x3":
        initializers.append(numpy_helper.from_array(phase_taps(weight), "w"))
        nodes.append(helper.make_node("Conv", ["x", "w"], ["phases"], kernel_shape=[3, 3], pads=[1] * 4))
        nodes.append(helper.make_node("DepthToSpace", ["phases"], ["y"], blocksize=2, mode="CRD"))
    else:  # phases2x2: a phase's taps are the 2x2 block of its 3x3 taps at its offset
        taps = phase_taps(weight).reshape(c_out, 2, 2, c_in, 3, 3)
        blocks = [taps[:, a, b, :, a : a + 2, b : b + 2] for a in (0, 1) for b in (0, 1)]
        initializers.append(numpy_helper.from_array(np.concatenate(blocks), "w"))  # phase-major channels
        nodes.append(helper.make_node("Conv", ["x", "w"], ["all"], kernel_shape=[2, 2], pads=[1] * 4))
        # output row 2m + a is the conv's row m + a: phase (a, b) is its (H, W) window at (a, b)
        last = np.iinfo(np.int64).max
        for phase, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            starts = np.array([phase * c_out, a, b], np.int64)
            ends = np.array([(phase + 1) * c_out, last if a else -1, last if b else -1], np.int64)
            initializers += [
                numpy_helper.from_array(starts, f"starts{phase}"),
                numpy_helper.from_array(ends, f"ends{phase}"),
            ]
            nodes.append(
                helper.make_node("Slice", ["all", f"starts{phase}", f"ends{phase}", "axes"], [f"p{phase}"])
            )
        initializers.append(numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"))
        nodes.append(helper.make_node("Concat", ["p0", "p1", "p2", "p3"], ["phases"], axis=1))
        nodes.append(
            helper.make_node("DepthToSpace", ["phases"], ["y"], blocksize=2, mode="DCR")
        )  # phase-major
    graph = helper.make_graph(
        nodes,
        form,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", c_in, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", c_out, "h2", "w2"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return model.SerializeToString()


@dataclass(frozen=True)
class Timing:
    size: str
    node: str
    form: str
    input_shape: tuple[int, ...]
    gflop: float  # multiply-adds x 2 the form computes, zero taps included
    ms: float  # median of the timed runs
    max_abs_diff: float  # against the ConvTranspose's output


def form_gflop(form: str, weight: np.ndarray, shape: tuple[int, ...]) -> float:
    n, c_in, h, w = shape
    c_out = weight.shape[1]
    taps = {"convtranspose": 16 * h * w, "subpixel3x3": 36 * h * w, "phases2x2": 16 * (h + 1) * (w + 1)}[form]
    return 2.0 * n * c_in * c_out * taps / 1e9


def time_forms(
    weights: dict[str, np.ndarray], size: tuple[int, int], runs: int, threads: int
) -> list[Timing]:
    """Every form of every decoder upconv at one frame size, checked against the ConvTranspose."""
    from stmfnet_trt.export.ort_session import create_session

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for node, weight in weights.items():
            shape = (TIME_STEPS, weight.shape[0], size[0] // DECODERS[node], size[1] // DECODERS[node])
            x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
            reference = None
            for form in FORMS:
                path = Path(folder) / f"{form}.onnx"
                path.write_bytes(build(form, weight))
                session = create_session(path, threads=threads, providers=("CPUExecutionProvider",))
                (y,) = session.run(["y"], {"x": x})  # warm-up: pre-packing, first allocations
                reference = y if reference is None else reference
                seconds = []
                for _ in range(runs):
                    start = time.perf_counter()
                    session.run(["y"], {"x": x})
                    seconds.append(time.perf_counter() - start)
                rows.append(
                    Timing(
                        f"{size[0]}x{size[1]}",
                        node,
                        form,
                        shape,
                        form_gflop(form, weight, shape),
                        1000 * statistics.median(seconds),
                        float(np.abs(y - reference).max()),
                    )
                )
    return rows


def render(rows: list[Timing], header: str) -> str:
    lines = [
        header,
        "",
        "| frame | node | input (N, C, H, W) | form | GFLOP | ms (median) | GFLOP/s | vs ConvTranspose "
        "| max abs diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    baseline = {(r.size, r.node): r.ms for r in rows if r.form == "convtranspose"}
    for r in rows:
        lines.append(
            f"| {r.size} | {r.node} | {r.input_shape} | {r.form} | {r.gflop:.2f} | {r.ms:.1f} | "
            f"{r.gflop / r.ms * 1000:.0f} | {baseline[(r.size, r.node)] / r.ms:.2f}x | {r.max_abs_diff:.1e} |"
        )
    lines += [
        "",
        "Per frame (the three nodes summed):",
        "",
        "| frame | form | ms | saved vs ConvTranspose |",
        "|---|---|---|---|",
    ]
    for size in dict.fromkeys(r.size for r in rows):
        total = {form: sum(r.ms for r in rows if r.size == size and r.form == form) for form in FORMS}
        for form in FORMS:
            lines.append(
                f"| {size} | {form} | {total[form]:.1f} | {total['convtranspose'] - total[form]:+.1f} ms |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, help="an exported graph to take the weights from (default: random)"
    )
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(256, 256), (544, 960)])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--label", default="", help="what was measured, for the header")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "upconv.json")
    parser.add_argument("--section", help="also write the table into this section of bench/RESULTS.md")
    args = parser.parse_args()

    import onnxruntime

    weights = decoder_weights(args.model)
    rows = [row for size in args.sizes for row in time_forms(weights, size, args.runs, args.threads)]
    weights_from = f"of {args.model.name}" if args.model else "random, of the exported shapes"
    header = (
        (f"{args.label}: " if args.label else "")
        + f"the texture decoder's transposed convolutions in three forms, {datetime.date.today().isoformat()}"
        f", onnxruntime {onnxruntime.__version__} (CPU), {args.threads} threads, median of {args.runs} runs "
        f"after a warm-up; weights {weights_from}."
    )
    text = render(rows, header)
    print(text)
    record = {
        "benchmark": "upconv",
        "date": datetime.date.today().isoformat(),
        "label": args.label,
        "threads": args.threads,
        "onnxruntime": onnxruntime.__version__,
        "rows": [asdict(r) for r in rows],
    }
    write_json(args.json, record)
    if args.section:
        write_section(HERE / "RESULTS.md", args.section, text)


if __name__ == "__main__":
    main()
