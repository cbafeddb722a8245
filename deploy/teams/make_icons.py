"""Draw the Teams app icons with the standard library only: a magnifying glass over the accent color.

    python deploy/teams/make_icons.py [OUT_DIR]      # writes color.png (192x192) and outline.png (32x32)

``color.png`` is the white glyph on the app's accent color (#464EB8, as in manifest.json), inside the
central 120 px that Teams keeps clear of its rounded corners. ``outline.png`` is the glyph alone,
white on transparent, as Teams requires. Edges are anti-aliased by 4x4 supersampling. The PNGs are
8-bit RGBA, unfiltered, zlib-compressed.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

ACCENT = (0x46, 0x4E, 0xB8)
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4

# The glyph in a unit square (y down): a lens ring and a handle from its lower right.
LENS_CENTER = (0.42, 0.42)
LENS_OUTER, LENS_INNER = 0.34, 0.22
HANDLE_FROM, HANDLE_TO, HANDLE_RADIUS = (0.66, 0.66), (0.88, 0.88), 0.085


def _distance_to_segment(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def in_glyph(x: float, y: float) -> bool:
    """Whether the point (unit square coordinates) is inked."""
    r = math.hypot(x - LENS_CENTER[0], y - LENS_CENTER[1])
    if LENS_INNER <= r <= LENS_OUTER:
        return True
    return r > LENS_OUTER and _distance_to_segment(x, y, HANDLE_FROM, HANDLE_TO) <= HANDLE_RADIUS


def glyph_coverage(size: int, box: tuple[int, int]) -> list[list[float]]:
    """Coverage (0..1) of each pixel of a ``size`` square image by the glyph drawn in pixels ``box``."""
    start, end = box
    span = end - start
    step = 1.0 / SUPERSAMPLE
    rows: list[list[float]] = []
    for py in range(size):
        row: list[float] = []
        for px in range(size):
            hits = 0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    ux = (px + (sx + 0.5) * step - start) / span
                    uy = (py + (sy + 0.5) * step - start) / span
                    hits += 0.0 <= ux <= 1.0 and 0.0 <= uy <= 1.0 and in_glyph(ux, uy)
            row.append(hits / SUPERSAMPLE**2)
        rows.append(row)
    return rows


def draw_color(size: int = 192) -> bytes:
    """RGBA pixels of the color icon: white glyph on the accent color, fully opaque."""
    margin = round(size * 36 / 192)
    out = bytearray()
    for row in glyph_coverage(size, (margin, size - margin)):
        for c in row:
            out += bytes(round(bg + (fg - bg) * c) for fg, bg in zip(WHITE, ACCENT, strict=True)) + b"\xff"
    return bytes(out)


def draw_outline(size: int = 32) -> bytes:
    """RGBA pixels of the outline icon: white glyph, transparent elsewhere."""
    out = bytearray()
    for row in glyph_coverage(size, (1, size - 1)):
        for c in row:
            out += bytes(WHITE) + bytes([round(255 * c)])
    return bytes(out)


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """A PNG file of 8-bit RGBA pixels (rows top to bottom), every row unfiltered."""
    if len(rgba) != width * height * 4:
        raise ValueError(f"expected {width * height * 4} bytes of RGBA for {width}x{height}, got {len(rgba)}")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no filter, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write_icons(folder: Path) -> tuple[Path, Path]:
    """Write ``color.png`` and ``outline.png`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    color, outline = folder / "color.png", folder / "outline.png"
    color.write_bytes(encode_png(192, 192, draw_color(192)))
    outline.write_bytes(encode_png(32, 32, draw_outline(32)))
    return color, outline


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    for path in write_icons(folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
