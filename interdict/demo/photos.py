"""Product photos for the demo markets and the image evaluation: real photographs shipped with
scikit-image (its bundled sample images, no download), and what a vendor does to a photo it
posts again under another name — re-encodes it, resizes it, crops it a little, stamps a
watermark — within fixed ranges, drawn from a seed so every run makes the same pictures."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

# scikit-image's sample photographs that ship inside its wheel (skimage.data). Left out: its
# generated pictures (checkerboard, binary blobs, colour wheel), a periodic texture (brick: a
# crop shifts its pattern a whole period) and scanned text (page, text) — not product photos;
# "cat" is chelsea again; "microaneurysms" is not in the wheel (fetched on demand: never here).
SAMPLE_NAMES = ("astronaut", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "horse", "hubble_deep_field",
                "immunohistochemistry", "logo", "moon", "retina", "rocket", "clock", "cell")
# The ranges of what a vendor does to a reposted photo.
QUALITY = (35, 90)  # JPEG quality
SCALE = (0.45, 1.0)  # of each side
CROP = (0.0, 0.03)  # share of each side cut away, at most
WATERMARK_SHARE = 0.5  # of copies that carry a stamped name


@dataclass(frozen=True)
class Variant:
    data: bytes
    steps: tuple[str, ...]  # what was done, in order ("quality 41", "scale 0.62", ...)


def sample_photos(min_side: int = 128) -> dict[str, "object"]:
    """The bundled sample images that load here (as RGB Pillow images), by name."""
    import numpy as np
    from PIL import Image
    from skimage import data

    photos = {}
    for name in SAMPLE_NAMES:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            array = np.asarray(loader())
        except Exception:  # noqa: BLE001 - an image not in this wheel (fetched on demand): skipped
            continue
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.dtype != np.uint8:
            array = (255 * (array - array.min()) / max(1e-9, float(array.max() - array.min()))).astype(np.uint8)
        image = Image.fromarray(array[..., :3] if array.ndim == 3 else array).convert("RGB")
        if min(image.size) >= min_side:
            photos[name] = image
    return photos


def jpeg(image, quality: int = 92, exif=None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def repost(image, seed: int, mark: str = "") -> Variant:
    """A copy of ``image`` as a vendor would post it again: cropped, resized, maybe stamped,
    re-encoded — each within the ranges above."""
    from PIL import ImageDraw

    rng = random.Random(seed)
    steps = []
    width, height = image.size
    left, top = int(width * rng.uniform(*CROP)), int(height * rng.uniform(*CROP))
    right, bottom = width - int(width * rng.uniform(*CROP)), height - int(height * rng.uniform(*CROP))
    image = image.crop((left, top, right, bottom))
    steps.append(f"crop {left},{top},{width - right},{height - bottom} px")
    scale = rng.uniform(*SCALE)
    image = image.resize((max(16, int(image.width * scale)), max(16, int(image.height * scale))))
    steps.append(f"scale {scale:.2f}")
    if mark and rng.random() < WATERMARK_SHARE:
        draw = ImageDraw.Draw(image)
        x, y = int(image.width * rng.uniform(0.05, 0.5)), int(image.height * rng.uniform(0.7, 0.9))
        draw.text((x, y), mark, fill=(255, 255, 255))
        steps.append(f"watermark {mark!r}")
    quality = rng.randint(*QUALITY)
    steps.append(f"quality {quality}")
    return Variant(jpeg(image, quality), tuple(steps))


def main(argv: list[str] | None = None) -> int:
    """A new copy of one sample photo, as a vendor or a seized parcel's photo would show it:
    `python -m interdict.demo.photos chelsea --out parcel.jpg` (for `interdict images similar`)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("name", choices=SAMPLE_NAMES)
    parser.add_argument("--out", required=True, metavar="FILE")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    photos = sample_photos()
    if args.name not in photos:
        print(f"error: {args.name} is not in this scikit-image wheel", file=sys.stderr)
        return 2
    copy = repost(photos[args.name], args.seed, mark="parcel")
    with open(args.out, "wb") as out:
        out.write(copy.data)
    print(f"{args.out}: {args.name}, " + ", ".join(copy.steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
