"""Write the held-out tail of every training clip as a PNG frame folder, for `stmfnet-trt eval`.

The trainer never sees the last ``holdout`` fraction of each clip (``train/sources.py``); the
demo weights' model card reports `eval` on exactly those frames, at the size training saw them
(the run's ``max_side`` box downscale), stored losslessly so that no codec adds its own error.

    python scripts/held_out_clips.py --data ~/.cache/stmfnet-trt/data \
        --config ~/.cache/stmfnet-trt/train/demo/config.json --out /tmp/held_out
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stmfnet_trt.io.images import encode_png
from stmfnet_trt.train.sources import DEFAULT_HOLDOUT, discover_sources, holdout_boundary, load_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the training data folder")
    parser.add_argument("--config", required=True, help="the run's config.json (max_side, holdout)")
    parser.add_argument("--out", required=True, help="one frame folder per clip is written here")
    args = parser.parse_args()
    config = json.loads(Path(args.config).read_text())
    for path in discover_sources([args.data]).clips:
        holdout = config.get("holdout", DEFAULT_HOLDOUT)
        clip = load_clip(path, max_side=config.get("max_side"), holdout=holdout)
        boundary = holdout_boundary(len(clip.frames), holdout)
        folder = Path(args.out) / clip.name
        folder.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(clip.frames[boundary:]):
            (folder / f"{index:06d}.png").write_bytes(encode_png(frame))
        print(f"{clip.name}: frames {boundary}..{len(clip.frames) - 1} -> {folder}")


if __name__ == "__main__":
    main()
