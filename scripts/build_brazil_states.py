"""Build dashboard/static/brazil_states.geojson: the 27 Brazilian states, simplified, from Natural Earth.

Source: Natural Earth's "Admin 1 - States, Provinces" at 1:50m (public domain, naturalearthdata.com), as
shipped by Debian's package r-cran-rnaturalearthdata 0.1.0 (CC0; object `states50`, an sp
SpatialPolygonsDataFrame). The package is read with R itself, so nothing is downloaded but Debian packages:

    apt-get install --no-install-recommends r-cran-rnaturalearthdata      # R, sp and the data
    .venv/bin/python scripts/build_brazil_states.py

Then every ring is simplified (Douglas-Peucker, TOLERANCE_DEG), islands smaller than MIN_AREA_DEG2 are
dropped, coordinates are rounded to 3 decimals (~100 m), and each feature is keyed by its state code
(Natural Earth's `postal`, which says "R." for Acre and Rondonia: those two are named in POSTAL_FIXES;
its `iso_3166_2` is only "BR-" in this edition).
The dashboard's own server serves the file (Streamlit static serving, app/static/) and the browser's Vega
reads it from there: no map tiles, nothing from the internet.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "dashboard" / "static" / "brazil_states.geojson"
TOLERANCE_DEG = 0.03
POSTAL_FIXES = {"Acre": "AC", "Rondônia": "RO"}
MIN_AREA_DEG2 = 0.02

EXPORT_R = r"""
suppressMessages(library(sp))
e <- new.env()
lazyLoad("/usr/lib/R/site-library/rnaturalearthdata/data/Rdata", envir = e)
s <- get("states50", envir = e)
br <- s[s@data$admin == "Brazil", ]
out <- file(commandArgs(trailingOnly = TRUE)[1], "w")
for (i in seq_len(nrow(br@data))) {
  code <- as.character(br@data$postal[i])
  name <- as.character(br@data$name[i])
  polys <- br@polygons[[i]]@Polygons
  for (j in seq_along(polys)) {
    xy <- polys[[j]]@coords
    pts <- paste(sprintf("%.5f %.5f", xy[, 1], xy[, 2]), collapse = ";")
    writeLines(paste(code, name, j, as.integer(polys[[j]]@hole), pts, sep = "\t"), out)
  }
}
close(out)
"""

Point = tuple[float, float]


def export_rings() -> list[tuple[str, str, bool, list[Point]]]:
    """(state code, name, is_hole, ring) for every ring of the 27 states, read with R."""
    with tempfile.TemporaryDirectory() as work:
        script, table = Path(work) / "export.R", Path(work) / "rings.tsv"
        script.write_text(EXPORT_R, encoding="utf-8")
        subprocess.run(["Rscript", str(script), str(table)], check=True, capture_output=True)
        rings = []
        for line in table.read_text(encoding="utf-8").splitlines():
            code, name, _, hole, points = line.split("\t")
            ring = [(float(x), float(y)) for x, y in (p.split() for p in points.split(";"))]
            rings.append((POSTAL_FIXES.get(name, code), name, hole == "1", ring))
    return rings


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker on an open polyline."""
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    norm = math.hypot(dx, dy)
    far, index = -1.0, 0
    for i in range(1, len(points) - 1):
        x, y = points[i]
        distance = (
            math.hypot(x - x1, y - y1) if norm == 0 else abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
        )
        if distance > far:
            far, index = distance, i
    if far <= tolerance:
        return [points[0], points[-1]]
    return simplify(points[: index + 1], tolerance)[:-1] + simplify(points[index:], tolerance)


def area(ring: list[Point]) -> float:
    """Signed area (shoelace), in square degrees."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def simplified_ring(ring: list[Point], tolerance: float) -> list[Point]:
    """A closed ring simplified as two halves (so its start point is not a fixed corner), rounded."""
    open_ring = ring[:-1] if ring[0] == ring[-1] else ring
    half = len(open_ring) // 2
    kept = simplify(open_ring[: half + 1], tolerance)[:-1] + simplify(
        open_ring[half:] + open_ring[:1], tolerance
    )
    rounded = [(round(x, 3), round(y, 3)) for x, y in kept]
    return rounded if rounded[0] == rounded[-1] else [*rounded, rounded[0]]


def build() -> dict:
    by_state: dict[str, dict] = {}
    for code, name, hole, ring in export_rings():
        if hole or abs(area(ring)) < MIN_AREA_DEG2:
            continue
        shape = simplified_ring(ring, TOLERANCE_DEG)
        if len(shape) < 4:
            continue
        if area(shape) > 0:  # clockwise exterior rings, as d3/Vega's spherical geometry expects
            shape = shape[::-1]
        state = by_state.setdefault(code, {"name": name, "polygons": []})
        state["polygons"].append([[list(p) for p in shape]])
    assert len(by_state) == 27, sorted(by_state)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": code,
                "properties": {"state_code": code, "name": state["name"]},
                "geometry": {"type": "MultiPolygon", "coordinates": state["polygons"]},
            }
            for code, state in sorted(by_state.items())
        ],
    }


def main() -> None:
    collection = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    points = sum(
        len(r) for f in collection["features"] for poly in f["geometry"]["coordinates"] for r in poly
    )
    print(f"{OUT.relative_to(REPO)}: 27 states, {points} points, {OUT.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
