"""Geometry of the dashboard's two small inline SVG charts (no JavaScript, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass

from dualwrite.history import Minute

WIDTH, HEIGHT, PAD = 600, 140, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    failed_bars: list[Bar]
    line: str  # SVG polyline points
    dots: list[tuple[str, str, str]]  # (x, y, title) of each point of the line
    top: str  # label of the top of the scale
    first: str
    last: str
    width: int = WIDTH
    height: int = HEIGHT


def _scale(peak: float) -> float:
    return peak if peak > 0 else 1.0


def write_rate_chart(minutes: list[Minute]) -> Chart:
    """Bars: mirror writes that landed per minute; red bars on top: writes that failed."""
    slot = (WIDTH - PAD) / max(len(minutes), 1)
    peak = _scale(max((m.writes + m.failures for m in minutes), default=0))
    area = HEIGHT - PAD
    bars, failed = [], []
    for index, minute in enumerate(minutes):
        x = PAD + index * slot
        ok_height = area * minute.writes / peak
        bad_height = area * minute.failures / peak
        label = f"{minute.minute:%H:%M} UTC: {minute.writes} written, {minute.failures} failed"
        bars.append(
            Bar(round(x, 1), round(area - ok_height, 1), round(slot * 0.8, 1), round(ok_height, 1), label)
        )
        if minute.failures:
            top = area - ok_height - bad_height
            failed.append(Bar(round(x, 1), round(top, 1), round(slot * 0.8, 1), round(bad_height, 1), label))
    return Chart(bars, failed, "", [], f"{peak:g}/min", _first(minutes), _last(minutes))


def latency_chart(minutes: list[Minute]) -> Chart:
    """Line: mean duration of the engine's Postgres write statements per minute (ms)."""
    slot = (WIDTH - PAD) / max(len(minutes), 1)
    values = [m.mean_latency_ms for m in minutes]
    peak = _scale(max((v for v in values if v is not None), default=0.0))
    area = HEIGHT - PAD
    dots = [
        (
            f"{PAD + index * slot + slot * 0.4:.1f}",
            f"{area - area * value / peak:.1f}",
            f"{minute.minute:%H:%M} UTC: {value:.2f} ms over {minute.latency_count} writes",
        )
        for index, (minute, value) in enumerate(zip(minutes, values, strict=True))
        if value is not None
    ]
    line = " ".join(f"{x},{y}" for x, y, _title in dots)
    return Chart([], [], line, dots, f"{peak:.1f} ms", _first(minutes), _last(minutes))


def _first(minutes: list[Minute]) -> str:
    return f"{minutes[0].minute:%H:%M}" if minutes else ""


def _last(minutes: list[Minute]) -> str:
    return f"{minutes[-1].minute:%H:%M} UTC" if minutes else ""
