"""Chart geometry for the reports' SVG, computed here and drawn by templates (no chart
script, and no inline style: the content security policy forbids it; colours come from
CSS classes series-0, series-1...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class StackedBar:
    label: str
    x: float
    label_x: float
    top_y: float
    total_text: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StackedChart:
    width: int
    height: int
    baseline: float
    bar_width: float
    bars: tuple[StackedBar, ...]
    legend: tuple[tuple[int, str], ...]  # (series, name)

    @property
    def label_y(self) -> float:
        return self.height - 8


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[Decimal | None]],
    *,
    unit: str = "$",
    width: int = 720,
    height: int = 240,
) -> StackedChart:
    """One bar per label, stacked by series (values[label][series]; None: no bar), scaled
    to the largest total."""
    totals = [sum((v or Decimal(0) for v in row), Decimal(0)) for row in values]
    top = max(totals, default=Decimal(0))
    pad_top, pad_bottom = 22.0, 26.0
    usable = height - pad_top - pad_bottom
    pad_side = 18.0  # room for a total printed over the first or last bar
    slot = (width - 2 * pad_side) / max(len(labels), 1)
    bar_width = slot * 0.62
    bars = []
    for index, (label, row, total) in enumerate(zip(labels, values, totals, strict=True)):
        x = pad_side + index * slot + (slot - bar_width) / 2
        y = pad_top + usable
        segments = []
        for number, value in enumerate(row):
            if not value:
                continue
            size = float(value / top) * usable if top > 0 else 0.0
            y -= size
            segments.append(
                Segment(
                    round(y, 1),
                    round(size, 1),
                    number,
                    f"{label} {series[number]}: {unit}{value:,.2f}",
                )
            )
        closed = any(value is not None for value in row)
        bars.append(
            StackedBar(
                label=label,
                x=round(x, 1),
                label_x=round(pad_side + index * slot + slot / 2, 1),
                top_y=round(y - 6, 1),
                total_text=f"{unit}{total:,.0f}" if closed else "",
                segments=tuple(segments),
            )
        )
    return StackedChart(
        width,
        height,
        pad_top + usable,
        round(bar_width, 1),
        tuple(bars),
        tuple(enumerate(series)),
    )


@dataclass(frozen=True)
class HBar:
    label: str
    y: float
    x: float
    width: float
    value_text: str
    series: int

    @property
    def value_x(self) -> float:
        return round(self.x + self.width + 6, 1)


@dataclass(frozen=True)
class HBarChart:
    width: int
    height: int
    label_width: int
    bar_height: float
    bars: tuple[HBar, ...]

    @property
    def text_dy(self) -> float:
        return round(self.bar_height / 2 + 4, 1)


def horizontal_bars(
    rows: Sequence[tuple[str, float, str]],
    *,
    width: int = 720,
    label_width: int = 200,
    row_height: int = 26,
    series: int = 0,
) -> HBarChart:
    """One bar per (label, value, value text), scaled to the largest value."""
    top = max((value for _, value, _ in rows), default=0.0)
    usable = width - label_width - 70
    bars = tuple(
        HBar(
            label=label,
            y=float(index * row_height + 4),
            x=float(label_width),
            width=round(value / top * usable, 1) if top > 0 else 0.0,
            value_text=text,
            series=series,
        )
        for index, (label, value, text) in enumerate(rows)
    )
    return HBarChart(width, max(len(rows), 1) * row_height + 8, label_width, row_height - 8, bars)
