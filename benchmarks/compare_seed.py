"""Time our modules against the source blog's snippets, forward + backward, at the same shape.

    python benchmarks/compare_seed.py                      # 8×256×40×40 float32
    python benchmarks/compare_seed.py --quick

The blog (a plain-text dump of a web page, outside the repository) is read at run time only: its
Python snippets are cut out of the prose, each executed in a scratch namespace, and the classes it
defines are built at the benchmark shape. None of its code is stored in this repository. Where a
snippet crashes (several do: see "Seed errata" in COURSE_DESIGN.md) the table says
``does not run`` with the error.

Each pair is configured alike where the blog's constructor allows it (the blog's defaults are
matched on our side: e.g. its SE has no bias, its CBAM uses r = 8 and no BatchNorm); the table's
"configuration" column says how. The two stand-alone CBAM parts of the blog return the gate rather
than the refined features; they are timed as ``x * part(x)`` so both sides do the same work.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from attn_course.registry import available_attention, create_attention
from attn_course.timing import default_device, format_table, time_module
from bench_modules import (DEFAULT_SHAPE, DTYPES, QUICK_SHAPE, add_input_arguments,
                           keep_freed_memory, one_line, parse_keys)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BLOG = REPO_ROOT / ".." / "shared" / "seed" / "000_19e50467499801fc.txt"

# A line that opens a snippet; inside one, indented, blank, comment and further such lines follow.
SNIPPET_START = re.compile(r"^(import \w|from [\w.]+ import |class \w|def \w|@\w)")
IMPORT_LINE = re.compile(r"^(import \w|from [\w.]+ import )")
CLASS_NAME = re.compile(r"^class (\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Pairing:
    """How to build the blog's class and ours alike for one registry key."""

    blog_class: str                                   # the class name the blog defines
    build_blog: Callable[[type, int], nn.Module]      # (blog class, channels) -> module
    our_options: dict = field(default_factory=dict)   # create_attention options matching the blog
    configuration: str = "defaults"
    returns_gate: bool = False                        # the blog's class returns the gate only


def _channels_only(cls, c):
    return cls(c)


PAIRINGS = {
    "se": Pairing("se_block", _channels_only, {"bias": False}, "r=16, no bias"),
    "eca": Pairing("eca_block", _channels_only, {}, "adaptive k"),
    "channel": Pairing("ChannelAttention", _channels_only, {"bias": False}, "r=16, no bias",
                       returns_gate=True),
    "spatial": Pairing("SpatialAttention", lambda cls, c: cls(),
                       {"batchnorm": False, "pool_order": "avg_max"}, "7×7, no BN, avg then max",
                       returns_gate=True),
    "cbam": Pairing("cbam_block", _channels_only,
                    {"reduction": 8, "bias": False, "spatial_batchnorm": False,
                     "pool_order": "avg_max"}, "r=8, no bias, no BN"),
    "shuffle": Pairing("ShuffleAttention", _channels_only, {"groups": 8}, "G=8 (the blog's default)"),
    "simam": Pairing("SimAM", _channels_only, {}, "λ=1e-4"),
    "criss_cross": Pairing("CrissCrossAttention", _channels_only, {}, "C/8 query/key, R=1"),
    "sk": Pairing("SKAttention", lambda cls, c: cls(c, kernels=[3, 5], group=32), {},
                  "2 branches, 32 groups (blog: true 5×5; ours: dilated 3×3)"),
    "s2": Pairing("S2Attention", _channels_only, {}, "defaults"),
    "nam": Pairing("NAMAttention", _channels_only, {}, "channel branch"),
    "soca": Pairing("SOCA", _channels_only, {"reduction": 8}, "r=8, 5 iterations"),
    "gam": Pairing("GAMAttention", lambda cls, c: cls(c, c),
                   {"grouped": True, "channel_sigmoid": False}, "rate 4, grouped, no σ on channel MLP"),
}


class GateApplied(nn.Module):
    """``x * part(x)`` for a module that returns only its gate."""

    def __init__(self, part: nn.Module):
        super().__init__()
        self.part = part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.part(x)


def extract_snippets(text: str) -> list[str]:
    """The runs of Python in a plain-text page, each as one string.

    A snippet opens at an ``import``/``from … import``/``class``/``def``/decorator line in column 0
    and runs on over blank, indented and comment lines and further such openers; the first other
    line in column 0 (prose, a figure caption, a usage line such as ``self.x = X(512)``) closes it.
    """
    snippets, current = [], []
    for line in text.splitlines():
        opens = bool(SNIPPET_START.match(line))
        continues = not line.strip() or line[:1].isspace() or line.startswith("#")
        if current and (opens or continues):
            current.append(line)
        elif opens:
            current = [line]
        else:
            if current:
                snippets.append("\n".join(current).rstrip() + "\n")
            current = []
    if current:
        snippets.append("\n".join(current).rstrip() + "\n")
    return snippets


def load_blog_classes(path: Path) -> tuple[dict[str, type | str], int]:
    """Execute each snippet in its own scratch namespace; return {class name: class or error}.

    Every namespace starts from the imports found anywhere in the page (the snippets assume the
    imports of earlier ones). The first snippet that defines a name wins, as a reader would take it.
    Also returns the number of snippets found.
    """
    snippets = extract_snippets(path.read_text(encoding="utf-8"))
    imports = "\n".join(line for s in snippets for line in s.splitlines() if IMPORT_LINE.match(line))
    base: dict = {"__name__": "blog_scratch"}
    exec(compile(imports, f"{path.name}:imports", "exec"), base)
    classes: dict[str, type | str] = {}
    for index, snippet in enumerate(snippets):
        names = CLASS_NAME.findall(snippet)
        namespace = dict(base)
        try:
            exec(compile(snippet, f"{path.name}:snippet{index}", "exec"), namespace)
        except Exception as error:                 # a snippet that does not even load
            for name in names:
                classes.setdefault(name, f"does not load: {one_line(error)}")
            continue
        for name in names:
            classes.setdefault(name, namespace[name])
    return classes, len(snippets)


def build_blog_module(pairing: Pairing, found, channels: int) -> nn.Module:
    if isinstance(found, str):
        raise RuntimeError(found)
    module = pairing.build_blog(found, channels)
    return GateApplied(module) if pairing.returns_gate else module


def check_runs(module: nn.Module, x: torch.Tensor) -> None:
    """One forward + backward; raise if it crashes or returns a different shape."""
    leaf = x.detach().requires_grad_(True)
    y = module(leaf)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise RuntimeError(f"returns {got}, expected {tuple(x.shape)}")
    y.sum().backward()


def median_training_time(ours: nn.Module, blog: nn.Module, x, repeats: int, min_run_time: float):
    """Median over ``repeats`` alternating measurements of each (so drifting load hits both)."""
    ours_s, blog_s = [], []
    for _ in range(repeats):
        ours_s.append(time_module(ours, x, backward=True, min_run_time=min_run_time).median_s)
        blog_s.append(time_module(blog, x, backward=True, min_run_time=min_run_time).median_s)
    return statistics.median(ours_s), statistics.median(blog_s)


def verdict(ours_s: float, blog_s: float, tolerance: float) -> str:
    """Ours vs the blog's time, with differences up to ``tolerance`` (a fraction) called a tie."""
    if ours_s <= blog_s:
        return "ours at least as fast"
    if ours_s <= blog_s * (1 + tolerance):
        return f"tie (within {tolerance:.0%})"
    return "ours slower"


def compare_key(key: str, classes: dict, x: torch.Tensor, repeats: int, min_run_time: float,
                tolerance: float) -> dict:
    pairing = PAIRINGS[key]
    channels = x.shape[1]
    row = {"key": key, "blog class": pairing.blog_class, "configuration": pairing.configuration}
    ours = create_attention(key, channels, **pairing.our_options).to(x.device, x.dtype).train()
    check_runs(ours, x)
    try:
        torch.manual_seed(0)
        blog = build_blog_module(pairing, classes.get(pairing.blog_class, "not found in the blog"),
                                 channels).to(x.device, x.dtype).train()
        check_runs(blog, x)
    except Exception as error:                      # the blog's snippet crashes: report it
        ours_s = time_module(ours, x, backward=True, min_run_time=min_run_time).median_s
        return {**row, "ours ms": f"{ours_s * 1e3:.3g}", "blog ms": "—", "ours / blog": "—",
                "result": f"blog does not run: {one_line(error)}"}
    ours_s, blog_s = median_training_time(ours, blog, x, repeats, min_run_time)
    return {**row, "ours ms": f"{ours_s * 1e3:.3g}", "blog ms": f"{blog_s * 1e3:.3g}",
            "ours / blog": f"{ours_s / blog_s:.2f}", "result": verdict(ours_s, blog_s, tolerance)}


def build_arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blog", type=Path, default=DEFAULT_BLOG,
                        help="the blog's text file (default: ../shared/seed/ next to the repository)")
    add_input_arguments(parser)
    parser.add_argument("--keys", type=parse_keys, default=None, help="comma-separated registry keys")
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating measurements per side; the median is reported")
    parser.add_argument("--min-run-time", type=float, default=None,
                        help="seconds per measurement (default 0.3, 0.1 with --quick)")
    parser.add_argument("--tolerance", type=float, default=0.05,
                        help="a slowdown up to this fraction is reported as a tie (timing noise)")
    parser.add_argument("--quick", action="store_true", help="small default shape, short timings")
    parser.add_argument("--results", action="store_true",
                        help="also append the table, with its commit, device, PyTorch version and "
                             "date, to benchmarks/RESULTS.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arguments().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    kept = not args.system_malloc and keep_freed_memory()
    if not args.blog.is_file():
        print(f"blog text not found at {args.blog}; pass --blog PATH", file=sys.stderr)
        return 2
    shape = args.shape or (QUICK_SHAPE if args.quick else DEFAULT_SHAPE)
    min_run_time = args.min_run_time or (0.1 if args.quick else 0.3)
    device = torch.device(args.device) if args.device else default_device()
    keys = args.keys or [k for k in available_attention() if k in PAIRINGS]

    classes, snippet_count = load_blog_classes(args.blog)
    torch.manual_seed(0)
    x = torch.randn(shape, device=device, dtype=DTYPES[args.dtype])
    print(f"{snippet_count} snippets, {len(classes)} classes read from {args.blog.name}; "
          f"forward + backward (training mode), input {'×'.join(map(str, shape))} {args.dtype} "
          f"on {device}, median of {args.repeats} alternating measurements"
          + (", glibc malloc keeps freed memory" if kept else ""))
    print()
    rows = [compare_key(k, classes, x, args.repeats, min_run_time, args.tolerance) for k in keys]
    table = format_table(rows)
    print(table)
    if args.results:
        sys.path.insert(0, str(Path(__file__).parent))
        from results import append_section

        print("appended to", append_section(f"Ours against the source blog, forward + backward, {'×'.join(map(str, shape))}, on {device.type}", device, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
