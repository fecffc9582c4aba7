"""`run --tile`: the tiled run writes the same frames as the untiled one for a pixel-wise backend."""

from __future__ import annotations

import numpy as np

from stmfnet_trt.cli import main
from stmfnet_trt.io import open_source


def frames_of(folder) -> np.ndarray:
    with open_source(folder, fps=25) as source:
        return np.stack(list(source)).astype(np.int16)


def test_tiled_blend_run_equals_the_untiled_one(assets_dir, tmp_path, capsys):
    clip = assets_dir / "carphone_12.mp4"  # 176x144: two tiles of 128 across, two down
    plain, tiled = tmp_path / "plain", tmp_path / "tiled"
    assert main(["run", str(clip), "-o", f"{plain}/", "--backend", "blend", "-q"]) == 0
    args = [
        "run",
        str(clip),
        "-o",
        f"{tiled}/",
        "--backend",
        "blend",
        "--tile",
        "128",
        "--tile-overlap",
        "48",
    ]
    assert main([*args, "-q"]) == 0
    expected, got = frames_of(plain), frames_of(tiled)
    assert got.shape == expected.shape == (24, 144, 176, 3)
    assert np.abs(got - expected).max() <= 1  # blending is per pixel; only rounding may differ


def test_bad_tile_sizes_are_refused_before_any_work(assets_dir, tmp_path, capsys):
    clip, output = assets_dir / "carphone_12.mp4", tmp_path / "out.mp4"
    assert main(["run", str(clip), "-o", str(output), "--backend", "blend", "--tile", "100"]) == 2
    assert "--tile must be a positive multiple of 128" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                str(clip),
                "-o",
                str(output),
                "--backend",
                "blend",
                "--tile",
                "128",
                "--tile-overlap",
                "128",
            ]
        )
        == 2
    )
    assert "--tile-overlap must be in [0, tile)" in capsys.readouterr().err
    assert not output.exists()
