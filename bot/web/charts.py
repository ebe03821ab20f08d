"""Charts drawn on the server as SVG: no script, no library, nothing fetched; every label is escaped."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

COLOURS = {"en": "#2f6f4f", "zh": "#c06a2b"}


def stacked_bars(days: dict[str, dict[str, int]], title: str, labels: dict[str, str], width: int = 640,
                 height: int = 200) -> Markup:
    """Questions per day, one bar per day stacked by language, with a legend and a title for screen readers."""
    keys = list(days)
    peak = max([sum(v.values()) for v in days.values()] + [1])
    left, bottom, top = 36, 24, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / max(len(keys), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>']
    for index, day in enumerate(keys):
        y = top + plot_h
        for lang in ("en", "zh"):
            n = days[day].get(lang, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(f'<rect x="{left + index * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[lang]}"><title>{escape(day)} {escape(labels[lang])}: '
                         f'{n}</title></rect>')
        if index % max(len(keys) // 6, 1) == 0:
            parts.append(f'<text x="{left + index * step:.1f}" y="{height - 8}" font-size="10">'
                         f'{escape(day[5:])}</text>')
    for number, lang in enumerate(("en", "zh")):
        x = width - 150 + number * 70
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" fill="{COLOURS[lang]}"/>'
                     f'<text x="{x + 14}" y="11" font-size="10">{escape(labels[lang])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: list[tuple[str, int, int]], title: str, labels: tuple[str, str], width: int = 640) -> Markup:
    """Helpful (green) and not helpful (orange) votes per entry, one row each."""
    peak = max([a + b for _, a, b in rows] + [1])
    row_h, left = 22, 260
    height = row_h * len(rows) + 24
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for index, (name, good, bad) in enumerate(rows):
        y = 20 + index * row_h
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11">{escape(name[:40])}</text>')
        good_w = (width - left - 40) * good / peak
        bad_w = (width - left - 40) * bad / peak
        parts.append(f'<rect x="{left}" y="{y}" width="{good_w:.1f}" height="16" fill="{COLOURS["en"]}">'
                     f'<title>{escape(labels[0])}: {good}</title></rect>')
        parts.append(f'<rect x="{left + good_w:.1f}" y="{y}" width="{bad_w:.1f}" height="16" fill="{COLOURS["zh"]}">'
                     f'<title>{escape(labels[1])}: {bad}</title></rect>')
        parts.append(f'<text x="{left + good_w + bad_w + 4:.1f}" y="{y + 13}" font-size="11">{good} / {bad}</text>')
    parts.append(f'<text x="{left}" y="12" font-size="10" fill="{COLOURS["en"]}">{escape(labels[0])}</text>'
                 f'<text x="{left + 120}" y="12" font-size="10" fill="{COLOURS["zh"]}">{escape(labels[1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(counts: list[int], title: str, width: int = 120, height: int = 28) -> Markup:
    """Weekly counts of a gap cluster, oldest first."""
    peak = max(counts + [1])
    step = width / max(len(counts), 1)
    bars = "".join(f'<rect x="{i * step + 1:.1f}" y="{height - height * n / peak:.1f}" width="{step - 2:.1f}" '
                   f'height="{height * n / peak:.1f}" fill="{COLOURS["en"]}"/>' for i, n in enumerate(counts))
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
                  f'{bars}</svg>')
