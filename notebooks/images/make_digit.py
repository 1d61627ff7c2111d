"""Re-create ``digit-7.png``: a seven drawn as a pen stroke by a program (not a scanned drawing).

The stroke follows a smooth curve through a few hand-picked points (a top bar that rises a
little, then a slanted downstroke that bends slightly), drawn with a round pen of varying width
in dark-blue ink on an off-white, slightly uneven "paper", then softened with a small blur.
The picture is 180 x 220 pixels, RGB: larger than MNIST's 28 x 28, dark on light, in colour —
everything the quick start's preprocessing has to undo.

Run from the repository root:  .venv/bin/python notebooks/images/make_digit.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

rng = np.random.default_rng(7)
W, H = 180, 220

# paper: off-white with faint, smooth unevenness
paper = np.full((H, W, 3), (244, 240, 230), np.float64)
shade = rng.normal(0, 1, (H // 20 + 2, W // 20 + 2))
shade = np.array(Image.fromarray(shade.astype(np.float32)).resize((W, H), Image.BICUBIC))
paper += 4.0 * shade[..., None]
paper += rng.normal(0, 1.5, paper.shape)
img = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))

# the pen path: Catmull-Rom spline through hand-picked points
points = np.array([[38, 58], [70, 52], [104, 47], [134, 44],     # top bar, rising a little
                   [121, 78], [104, 116], [90, 152], [81, 184]],  # downstroke, slanted
                  dtype=np.float64)


def catmull_rom(p, n=30):
    p = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, n, endpoint=False):
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2])
    return np.array(out)


# the corner of a 7 is sharp: draw the bar and the downstroke as two strokes
bar, down = catmull_rom(points[:4]), catmull_rom(points[3:])
draw = ImageDraw.Draw(img)
ink = (28, 36, 92)
for stroke in (bar, down):
    for k, (x, y) in enumerate(stroke):
        r = 7.5 + 1.2 * np.sin(k / 9.0) + rng.normal(0, 0.25)   # pen pressure varies
        draw.ellipse([x - r, y - r, x + r, y + r], fill=ink)
img = img.filter(ImageFilter.GaussianBlur(1.2))
out = Path(__file__).with_name("digit-7.png")
img.save(out)
print(f"wrote {out} ({img.size[0]}x{img.size[1]}, {img.mode})")
