"""The HTML portfolio report in a real browser: a demo company's report opens from a file,
draws every chart with the inlined plotly.js, logs no error, fetches nothing, and does not
look blank."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import tiering
from tiering.demo import generate_demo
from tiering.reports import build_report, write_html

pytestmark = pytest.mark.browser

SCORECARD = Path(__file__).resolve().parents[2] / "examples" / "scorecard.yaml"
CHARTS = ("chart-distribution", "chart-top10", "chart-pareto", "chart-migration")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    """A 300-customer demo company graded by the example scorecard as of 2026-09-30, with
    the same rules as of 2026-06-30 as the previous quarter."""
    folder = tmp_path_factory.mktemp("demo")
    files = generate_demo(folder, customers=300, seed=3)
    current = tiering.evaluate(SCORECARD, files.customers, files.transactions)
    previous = tiering.evaluate(
        SCORECARD, files.customers, files.transactions, as_of="2026-06-30"
    ).to_pyarrow()
    return build_report(current, current.rules.tier_names, previous=previous)


def open_report(browser, path: Path):
    """Open ``path`` and wait until every chart has drawn; return the page with the
    console errors and the requested URLs seen meanwhile."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    selectors = [f"#{c}.js-plotly-plot .main-svg" for c in CHARTS]
    page.wait_for_function(
        "sel => sel.every(s => document.querySelector(s) !== null)", arg=selectors, timeout=30_000
    )
    return page, errors, requests


def png_pixels(data: bytes, max_rows: int | None = None) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) with the
    standard library and NumPy: an array of shape (rows, width, channels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    rows = height if max_rows is None else min(height, max_rows)
    out = np.zeros((rows, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(rows):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, np.uint8, stride, start + 1).astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: each byte adds the one bpp to its left
            cur = line.reshape(-1, bpp).cumsum(axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            cur = (line + prev) & 0xFF
        else:  # Average (3) and Paeth (4) depend on the byte just decoded: one by one
            cur_l, up = line.tolist(), prev.tolist()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur_l[i] = (cur_l[i] + ((a + b) >> 1)) & 0xFF
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur_l[i] = (cur_l[i] + pred) & 0xFF
            cur = np.array(cur_l, dtype=np.int64)
        out[y] = cur
        prev = cur
    return out.reshape(rows, width, bpp)


def distinct_colours(pixels: np.ndarray) -> int:
    flat = pixels[..., :3].reshape(-1, 3).astype(np.uint32)
    return len(np.unique(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]))


def test_png_decoder_on_a_known_image():
    """Given a 2×2 RGB PNG built by hand (filters Sub and Up)
    When decoded
    Then the pixels are those encoded."""
    pixels = [[(255, 0, 0), (0, 255, 0)], [(0, 0, 255), (255, 255, 255)]]
    row0 = bytes([1, 255, 0, 0, (0 - 255) & 0xFF, 255, 0])  # Sub
    row1 = bytes([2, (0 - 255) & 0xFF, 0, 255, 255, 0, 255])  # Up
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row0 + row1))
        + chunk(b"IEND", b"")
    )
    assert png_pixels(png).tolist() == [[list(p) for p in row] for row in pixels]
    assert distinct_colours(png_pixels(png)) == 4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_renders_offline(browser, demo_report, tmp_path, lang):
    """Given the demo company's report written as HTML
    When it is opened from a file in headless Chromium
    Then all four charts draw, the console has no error, nothing but the file itself is
    requested, the labels are in the language asked for, and the full-page screenshot is
    far from blank."""
    path = write_html(demo_report, tmp_path / f"report_{lang}.html", lang)
    page, errors, requests = open_report(browser, path)
    try:
        assert errors == []
        assert requests and all(url.startswith("file://") for url in requests), requests
        assert page.locator(".js-plotly-plot").count() == len(CHARTS)
        legend = page.inner_text("#chart-distribution")
        assert ("客户占比" if lang == "zh" else "Customers %") in legend
        heading = page.inner_text("h1")
        assert heading == ("客户组合分析报告" if lang == "zh" else "Customer portfolio report")
        assert page.locator("table").count() >= 8
        shot = tmp_path / f"report_{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    pixels = png_pixels(shot.read_bytes(), max_rows=2200)  # the heading, cards, two charts
    assert pixels.shape[1] == 1280
    assert distinct_colours(pixels) > 100
