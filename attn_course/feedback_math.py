"""Equations in a feedback report that render without a network connection.

nbgrader's feedback report loads MathJax from a CDN to typeset the ``$…$`` and ``$$…$$`` in the
notebook's text; a student who opens it offline (or behind a firewall, or years later) sees the
raw TeX. :func:`offline_math` turns every such equation into MathML, which browsers draw by
themselves (Chrome and Edge since 109, Firefox, Safari), using the pure-Python ``latex2mathml``,
and drops the CDN's script tags, so the report needs nothing from the network.

Only text outside ``<pre>``, ``<code>``, ``<script>``, ``<style>`` and ``<textarea>`` is touched
(code and its output keep their dollar signs), and an equation that cannot be converted, or that
the notebook renderer already broke up with tags, is left as it was.
"""

from __future__ import annotations

import html
import re

__all__ = ["offline_math", "to_mathml"]

_PROTECTED = re.compile(r"(<(pre|code|script|style|textarea)\b.*?</\2\s*>)", re.S | re.I)
_MATH = re.compile(
    r"\$\$(?P<display>.+?)\$\$"                 # $$ … $$
    r"|\\\[(?P<display2>.+?)\\\]"               # \[ … \]
    r"|(?<![\\$])\$(?P<inline>[^$\s](?:[^$]*?[^$\s\\])?)\$(?!\d)"   # $ … $ (not "$5 and $6")
    r"|\\\((?P<inline2>.+?)\\\)",               # \( … \)
    re.S)
_MATHJAX = re.compile(
    r"<!--\s*Load mathjax\s*-->\s*<script[^>]*src=\"[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>"
    r"|<!--\s*MathJax configuration\s*-->\s*<script type=\"text/x-mathjax-config\">.*?</script>"
    r"|<script[^>]*src=\"[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>"
    r"|<!--\s*(?:Loading mathjax macro|End of mathjax configuration)\s*-->",
    re.S | re.I)


def to_mathml(tex: str, display: bool = False) -> str | None:
    """``tex`` as a MathML ``<math>`` element, or None if it cannot be converted."""
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (latex2mathml raises many kinds; the TeX then stays)
        return None


def _convert_text(text: str) -> str:
    def replace(match):
        display = match.group("display") or match.group("display2")
        tex = display if display is not None else (match.group("inline") or match.group("inline2"))
        if "<" in tex:  # the renderer put tags inside: not an equation we can trust
            return match.group(0)
        mathml = to_mathml(html.unescape(tex), display is not None)
        return mathml if mathml is not None else match.group(0)

    return _MATH.sub(replace, text)


def offline_math(page: str) -> str:
    """The HTML ``page`` with its equations as MathML and no MathJax script."""
    page = _MATHJAX.sub("", page)
    parts = _PROTECTED.split(page)
    # split() with two groups returns [text, block, tag name, text, block, tag name, …, text]
    out = []
    for index in range(0, len(parts), 3):
        out.append(_convert_text(parts[index]))
        if index + 1 < len(parts):
            out.append(parts[index + 1])
    return "".join(out)
