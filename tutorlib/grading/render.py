"""Render a ``Result`` as deterministic plain text or as a compact coloured HTML card.

Both forms depend only on the result's fields (no timings, no addresses), so stored outputs
compare equal across runs.
"""

from __future__ import annotations

from html import escape

_TAG = {"passed": "PASS", "failed": "FAIL", "not implemented": "TODO"}
_ICON = {"passed": "\u2714", "failed": "\u2718", "not implemented": "\u2026"}
_COLOUR = {  # border, background, text of the status word
    "passed": ("#2e7d32", "#edf7ee", "#1b5e20"),
    "failed": ("#c62828", "#fdecea", "#b71c1c"),
    "not implemented": ("#757575", "#f3f3f3", "#424242"),
}
_NOT_IMPLEMENTED = "not implemented yet: replace the `# YOUR CODE HERE` lines with your code"


def rows(result) -> list[tuple[str, str]]:
    """The (label, text) lines shown under the headline, in order."""
    out = []
    if result.status == "not implemented":
        out.append(("todo", result.message or _NOT_IMPLEMENTED))
    elif result.status == "failed":
        if result.what:
            out.append(("test", result.what))
        if result.expected or result.got:
            out += [("expected", result.expected), ("got", result.got)]
        if result.detail:
            out.append(("problem", result.detail))
        if result.message:
            out.append(("problem", result.message))
    out += [("tested" if result else "passed", line) for line in result.tested]
    if result.hint and not result:
        out.append(("hint", result.hint))
    return out


def headline(result) -> str:
    """``doc.double - Double it: passed, 2/2 points``."""
    return (f"{result.exercise} - {result.title}: {result.status}, "
            f"{result.score}/{result.points} points")


def text(result) -> str:
    """Plain text: a tagged headline, then indented ``label: text`` lines."""
    lines = [f"[{_TAG[result.status]}] {headline(result)}"]
    width = max((len(label) for label, _ in rows(result)), default=0)
    previous = None
    for label, body in rows(result):
        shown = "" if label == previous else label + ":"
        lines.append(f"  {shown:<{width + 1}} {body}")
        previous = label
    return "\n".join(lines)


def html(result) -> str:
    """A small card: green (passed), red (failed) or grey (not implemented)."""
    border, background, ink = _COLOUR[result.status]
    head = (f'<div style="font-weight:600;color:{ink}">{_ICON[result.status]} '
            f'{escape(result.title)} &mdash; {escape(result.status)}'
            f'<span style="float:right;font-weight:400;color:#555">{escape(result.exercise)}'
            f' &middot; {result.score}/{result.points} points</span></div>')
    body, previous = "", None
    for label, line in rows(result):
        shown, previous = ("" if label == previous else label), label
        font = "inherit" if label == "hint" else "monospace"
        body += (f'<tr style="background:transparent;border:none">'
                 f'<td style="padding:1px 10px 1px 0;color:#555;vertical-align:top;'
                 f'text-align:left;white-space:nowrap;border:none">{escape(shown)}</td>'
                 f'<td style="padding:1px 0;text-align:left;font-family:{font};'
                 f'white-space:pre-wrap;border:none">{escape(line)}</td></tr>')
    table = f'<table style="margin:4px 0 0 0;border-collapse:collapse">{body}</table>' if body else ""
    return (f'<div style="border-left:5px solid {border};background:{background};color:#222;'
            f'padding:6px 10px;margin:2px 0;border-radius:3px;font-size:13px;'
            f'font-family:system-ui,sans-serif;max-width:900px">{head}{table}</div>')
