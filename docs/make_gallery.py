"""Copy the figures and claims of a quick reproduction into docs/gallery/.

    jqd reproduce --quick --out /tmp/repro
    python docs/make_gallery.py /tmp/repro

For every experiment folder of SRC_DIR (one per experiment, named as `jqd list`
names them) this replaces docs/gallery/<experiment>/ with its PNG figures
(palette-quantized, and downscaled while a file is over MAX_BYTES), a
THUMBNAIL (its first figure, THUMB_WIDTH pixels across: the gallery index
shows it) and a `claims.json` (the claims of its `summary.json`: name, statement, measured
value, tolerance, result). The site's gallery pages (docs/hooks.py) show
both, so the site builds without running experiments. Rerunning replaces what
is there; an experiment missing from SRC_DIR keeps its old folder.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

from PIL import Image

GALLERY = Path(__file__).resolve().parent / "gallery"
MAX_BYTES = 150_000
MIN_WIDTH = 700  # never shrink a figure below this many pixels across
THUMBNAIL = "thumbnail.png"  # not a figure: the gallery pages skip it
THUMB_WIDTH = 320


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def shrink(src: Path, dst: Path) -> None:
    """Copy `src` to `dst` as a 256-colour PNG (plots lose nothing visible;
    viridis has 256 colours), downscaled while over MAX_BYTES."""
    image = Image.open(src).convert("RGB")
    data = _png_bytes(image.quantize(colors=256))
    if len(data) >= src.stat().st_size:  # already compact: keep it as it is
        shutil.copyfile(src, dst)
        return
    while len(data) > MAX_BYTES and image.width * 0.85 >= MIN_WIDTH:
        size = (round(image.width * 0.85), round(image.height * 0.85))
        image = image.resize(size, Image.Resampling.LANCZOS)
        data = _png_bytes(image.quantize(colors=256))
    dst.write_bytes(data)


def thumbnail(src: Path, dst: Path) -> None:
    """`src` scaled to THUMB_WIDTH pixels across, as a 256-colour PNG."""
    image = Image.open(src).convert("RGB")
    height = max(1, round(image.height * THUMB_WIDTH / image.width))
    image = image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
    dst.write_bytes(_png_bytes(image.quantize(colors=256)))


def claims_of(summary: dict) -> dict:
    keep = ("name", "statement", "measured", "op", "tolerance", "passed")
    return {
        "quick": summary.get("quick"),
        "wall_time_s": summary.get("wall_time_s"),
        "started_utc": summary.get("started_utc"),
        "claims": [{k: c.get(k) for k in keep} for c in summary.get("claims", [])],
    }


def main(src: Path) -> int:
    runs = sorted(p for p in src.iterdir() if (p / "summary.json").is_file())
    if not runs:
        print(f"no experiment folders with a summary.json under {src}", file=sys.stderr)
        return 1
    for run in runs:
        out = GALLERY / run.name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        figures = sorted(run.glob("*.png"))
        for png in figures:
            shrink(png, out / png.name)
        if figures:
            thumbnail(figures[0], out / THUMBNAIL)
        summary = json.loads((run / "summary.json").read_text())
        text = json.dumps(claims_of(summary), indent=1, ensure_ascii=False)
        (out / "claims.json").write_text(text + "\n")
        size = sum(f.stat().st_size for f in out.iterdir())
        print(f"{run.name}: {len(figures)} figure(s), {size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
