"""Assertion helpers for the notebooks' visible tests.

Every check raises ``AssertionError`` with a message that says what is wrong and where to look, and
prints one line starting with ✓ when it passes, so a student sees which checks already hold.
"""

from __future__ import annotations

import re

import torch
from torch import nn

__all__ = [
    "rel_error",
    "check_shape",
    "check_dtype_device",
    "check_gate_range",
    "check_parameter_count",
    "check_close",
    "check_raises",
    "message_mentions",
    "check_call",
    "check_input_unchanged",
    "check_gradients",
    "load_dense_weight",
]


def _passed(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"✓ {message}")


def _unravel(flat: int, shape) -> tuple[int, ...]:
    """The index tuple of position ``flat`` in a row-major tensor of ``shape``."""
    index = []
    for size in reversed(tuple(shape)):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


_NONFINITE_HINTS = {
    "NaN": "look for a division by zero, a log of 0 or 0·inf",
    "inf": "look for an exp that overflows, a division by a number close to zero or a log of 0",
}


def _nonfinite_message(t: torch.Tensor, what: str, allowed: torch.Tensor | None = None) -> str | None:
    """Describe the NaN, +inf and -inf values of ``t`` (count and first index), or return None.

    Positions where ``allowed`` is True are not reported.
    """
    if not (t.is_floating_point() or t.is_complex()):
        return None
    if t.is_complex():
        kinds = (("NaN", torch.isnan(t)), ("inf", torch.isinf(t)))
    else:
        kinds = (("NaN", torch.isnan(t)), ("+inf", torch.isposinf(t)), ("-inf", torch.isneginf(t)))
    parts, hints = [], []
    for label, mask in kinds:
        if allowed is not None:
            mask = mask & ~allowed
        count = int(mask.sum())
        if count:
            first = tuple(int(i) for i in torch.nonzero(mask)[0])
            parts.append(f"{count} {label} value{'s' if count != 1 else ''} (first at index {first})")
            hint = _NONFINITE_HINTS["NaN" if label == "NaN" else "inf"]
            if hint not in hints:
                hints.append(hint)
    if not parts:
        return None
    return f"{what} contains {' and '.join(parts)} — {'; '.join(hints)}."


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a − e| / max(|a| + |e|, 1e-12): the relative error in check_close's failure message."""
    actual, expected = actual.detach().double(), expected.detach().double().to(actual.device)
    return float(((actual - expected).abs() / (actual.abs() + expected.abs()).clamp_min(1e-12)).max())


def check_shape(out, x: torch.Tensor, *, what: str = "the output", quiet: bool = False) -> None:
    """``out`` must be a tensor of exactly ``x``'s shape (an attention module refines, never resizes)."""
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(out).__name__}. "
                             "Did forward forget a `return`?")
    if out.shape == x.shape:
        _passed(f"shape kept: {tuple(out.shape)}", quiet)
        return
    hint = ""
    if out.dim() == 4 and x.dim() == 4:
        B, C, H, W = x.shape
        if tuple(out.shape) == (B, C, 1, 1):
            hint = (" It has the shape of a channel gate (B, C, 1, 1): you returned the gate, not "
                    "x multiplied by the gate.")
        elif tuple(out.shape) == (B, 1, H, W):
            hint = (" It has the shape of a spatial gate (B, 1, H, W): you returned the gate, not "
                    "x multiplied by the gate.")
        elif out.shape[1] != C:
            hint = " The channel axis changed: check which axis you pooled or projected over."
        else:
            hint = " The spatial size changed: check padding and strides."
    elif out.dim() == 2 and x.dim() == 4:
        hint = " It is 2-D: the (B, C) descriptor was never reshaped back to (B, C, 1, 1) and applied."
    raise AssertionError(f"{what} has shape {tuple(out.shape)}, expected {tuple(x.shape)} "
                         f"(the input's shape).{hint}")


def check_dtype_device(out: torch.Tensor, x: torch.Tensor, *, what: str = "the output",
                       quiet: bool = False) -> None:
    """``out`` keeps ``x``'s dtype and device (no hard-coded float32, no ``.cuda()``)."""
    if out.dtype != x.dtype:
        raise AssertionError(f"{what} has dtype {out.dtype}, the input {x.dtype}. Create new "
                             "tensors with dtype=x.dtype (or torch.*_like(x)), never a fixed dtype.")
    if out.device != x.device:
        raise AssertionError(f"{what} is on {out.device}, the input on {x.device}. Create new "
                             "tensors with device=x.device; never call .cuda() or .cpu() inside.")
    _passed(f"dtype and device kept: {out.dtype}, {out.device}", quiet)


def check_gate_range(gate: torch.Tensor, *, what: str = "the gate", quiet: bool = False) -> None:
    """Every gate value lies in [0, 1], as a sigmoid's output does.

    The ends are allowed: in float32, ``sigmoid(17.)`` is exactly 1.0. The pass line prints no
    values (they depend on floating-point noise), only the gate's shape.
    """
    if not isinstance(gate, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(gate).__name__}.")
    g = gate.detach()
    if g.numel() == 0:
        raise AssertionError(f"{what} is empty (shape {tuple(g.shape)}): it should hold one value "
                             "per channel or per position.")
    message = _nonfinite_message(g, what)
    if message:
        raise AssertionError(message)
    low, high = float(g.min()), float(g.max())
    if low < 0 or high > 1:
        raise AssertionError(f"{what} must lie in [0, 1] but its min is {low:.4g} and its max is "
                             f"{high:.4g}. Is the sigmoid applied last, after the final layer?")
    _passed(f"{what} lies in [0, 1], shape {tuple(g.shape)}", quiet)


def check_parameter_count(module: nn.Module, expected: int, *, formula: str = "",
                          quiet: bool = False) -> None:
    """The module has exactly ``expected`` learnable parameters."""
    got = sum(p.numel() for p in module.parameters())
    if got != expected:
        parts = ", ".join(f"{name} {tuple(p.shape)}" for name, p in module.named_parameters())
        raise AssertionError(
            f"{type(module).__name__} has {got:,} parameters, expected {expected:,}"
            + (f" = {formula}" if formula else "") + f". Its parameters: {parts or 'none'}. "
            "Check the hidden width, and which layers have a bias.")
    _passed(f"{got:,} parameters" + (f" = {formula}" if formula else ""), quiet)


def check_close(actual, expected, *, what: str = "the output", rtol: float = 1e-5,
                atol: float = 1e-6, quiet: bool = False) -> None:
    """``actual`` equals ``expected`` within tolerance; the message locates the largest difference.

    NaN and ±inf in ``actual`` are reported first, with their count and first index (NaN even where
    ``expected`` has NaN too; an infinity only where ``expected`` lacks the same infinity). The pass
    line prints the tolerances only, never a measured error, so stored outputs do not depend on
    rounding noise.
    """
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(actual).__name__}.")
    if not isinstance(expected, torch.Tensor):
        expected = torch.as_tensor(expected, dtype=torch.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(actual.shape)}, expected "
                             f"{tuple(expected.shape)}.")
    a, e = actual.detach().double(), expected.detach().double().to(actual.device)
    same_inf = torch.isinf(a) & (a == e)
    message = _nonfinite_message(a, what, allowed=same_inf)
    if message:
        raise AssertionError(message)
    diff = (a - e).abs()
    # NaN compares as False, so a NaN anywhere (here: only in expected) counts as a difference; an
    # expected infinity is matched only by the same infinity (the tolerance there would be inf).
    close = torch.where(torch.isinf(e), same_inf, diff <= atol + rtol * e.abs())
    bad = ~close
    n_bad = int(bad.sum())
    if n_bad:
        score = torch.where(bad, torch.nan_to_num(diff, nan=float("inf"), posinf=float("inf")),
                            torch.full_like(diff, -1.0))
        worst = int(score.flatten().argmax())
        index = _unravel(worst, a.shape)
        finite = torch.isfinite(a) & torch.isfinite(e)
        relative = ""
        if finite.any():
            relative = f" (relative error {rel_error(a[finite], e[finite]):.2e})"
        raise AssertionError(
            f"{what} differs from the expected values at {n_bad} of {a.numel()} "
            f"positions (tolerance rtol {rtol:g}, atol {atol:g}). Largest difference "
            f"{float(diff.flatten()[worst]):.3g} at index {index}: got "
            f"{float(a.flatten()[worst]):.6g}, expected {float(e.flatten()[worst]):.6g}{relative}.")
    _passed(f"{what} matches (within rtol {rtol:g}, atol {atol:g})", quiet)


def _exception_name(exception) -> str:
    if isinstance(exception, tuple):
        return " or ".join(e.__name__ for e in exception)
    return exception.__name__


def _mention_items(mentions):
    """``mentions`` as (item, why) pairs; a bare item has why None."""
    if isinstance(mentions, (str, bytes, int, float)):
        mentions = (mentions,)
    for entry in mentions:
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
            yield entry[0], entry[1]
        else:
            yield entry, None


def message_mentions(message: str, item) -> bool:
    """``item`` appears in ``message``: a string as a substring, a number as a whole number, and a
    shape (a tuple of ints) as its numbers in order with at most a few separators between them
    (``(2, 4, 5)``, ``[2, 4, 5]``, ``torch.Size([2, 4, 5])`` and ``2x4x5`` all count); a set or a
    list stands for alternatives, any one of which will do (ways to word a constraint)."""
    if isinstance(item, (set, frozenset, list)):
        return any(message_mentions(message, alternative) for alternative in item)
    if isinstance(item, tuple) and all(isinstance(i, int) for i in item):
        pattern = r"\D{1,4}".join(str(i) for i in item)
        return re.search(rf"(?<![\d.]){pattern}(?!\d|\.\d)", message) is not None
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return re.search(rf"(?<![\d.]){re.escape(str(item))}(?!\d|\.\d)", message) is not None
    return str(item).lower() in message.lower()


def check_raises(fn, exception=ValueError, *, what: str, mentions=(), quiet: bool = False) -> None:
    """``fn()`` must raise ``exception``, whose message mentions every item of ``mentions``.

    ``mentions`` holds items or ``(item, why)`` pairs such as ``(16, "the reduction received")``;
    see :func:`message_mentions` for how an item (a string, a number, a shape, a set of
    alternatives) is found in the message.
    Returns None, so a cell ending with this call displays no ``Out[]``.
    """
    name = _exception_name(exception)
    try:
        fn()
    except exception as error:
        text = str(error)
        for item, why in _mention_items(mentions):
            if not message_mentions(text, item):
                shown = (f"one of {', '.join(repr(i) for i in sorted(item, key=str))}"
                         if isinstance(item, (set, frozenset, list)) else repr(item))
                raise AssertionError(
                    f"{what} raised {error!r} but its message should mention {shown}"
                    + (f" ({why})" if why else "") + ".") from None
        raised = type(error).__name__ if isinstance(exception, tuple) else name
        _passed(f"{what} raises {raised}: {text}", quiet)
        return None
    except Exception as error:  # a different error is still a wrong answer
        raise AssertionError(f"{what} should raise {name}, but raised "
                             f"{type(error).__name__}: {error}") from None
    raise AssertionError(f"{what} should raise {name}, but nothing was raised.")


_BROADCAST = re.compile(r"The size of tensor a \(\d+\) must match the size of tensor b \(\d+\) "
                        r"at non-singleton dimension \d+")
_TRANSLATIONS = (
    (lambda text: _BROADCAST.search(text) is not None,
     "a (B, C) gate multiplies a (B, C, H, W) map only with two length-1 axes: reshape it to "
     "(B, C, 1, 1) (e.g. rearrange(s, 'b c -> b c 1 1')) — a (B, H, W) one needs (B, 1, H, W)."),
    (lambda text: ("a leaf Variable that requires grad is being used in an in-place operation" in text
                   or "one of the variables needed for gradient computation has been modified by "
                   "an inplace operation" in text),
     "an in-place operation (x *= ..., x.mul_(...), out[...] = ...) changed a tensor autograd "
     "needs: write out = x * gate instead."),
    (lambda text: "mat1 and mat2 shapes cannot be multiplied" in text,
     "an nn.Linear (or a matmul) received a tensor of the wrong width: a Linear acts on the last "
     "axis, so flatten the pooled (B, C, 1, 1) map to (B, C) first (e.g. rearrange(s, "
     "'b c 1 1 -> b c')), and check the layer's in_features and out_features."),
)


def check_call(fn, *args, what: str, **kwargs):
    """Return ``fn(*args, **kwargs)``; a common torch error becomes an AssertionError with a hint.

    Broadcasting mismatches, in-place edits that break autograd and Linear width mismatches are
    translated (the original message is quoted); any other exception propagates unchanged.
    Prints nothing.
    """
    try:
        return fn(*args, **kwargs)
    except RuntimeError as error:
        text = str(error)
        for matches, hint in _TRANSLATIONS:
            if matches(text):
                raise AssertionError(f'{what} raised {type(error).__name__}: "{text}" — '
                                     f"{hint}") from None
        raise


def _version(t: torch.Tensor):
    try:
        return t._version
    except Exception:  # inference tensors have no version counter
        return None


def check_input_unchanged(fn, x: torch.Tensor, *args, what: str, quiet: bool = False, **kwargs):
    """Return ``fn(x, *args, **kwargs)``, failing if the call modified ``x`` in place."""
    if not isinstance(x, torch.Tensor):
        raise AssertionError(f"check_input_unchanged needs a tensor x, got {type(x).__name__}.")
    before, version = x.detach().clone(), _version(x)
    result = check_call(fn, x, *args, what=what, **kwargs)
    after = x.detach()
    changed = after.shape != before.shape
    if not changed:
        equal = after == before
        if after.is_floating_point() or after.is_complex():
            equal = equal | (torch.isnan(after) & torch.isnan(before))
        changed = not bool(equal.all())
    if not changed and version is not None and _version(x) != version:
        changed = True
    if changed:
        raise AssertionError(f"{what} changed its input x in place (x *= gate, x.mul_(...)?): "
                             "return a new tensor, e.g. x * gate; in-place edits break autograd "
                             "and surprise the caller.")
    _passed(f"{what} leaves its input unchanged", quiet)
    return result


_NO_GRADIENT = ("is the gate computed under torch.no_grad(), from x.detach(), or through "
                ".data / .item() / numpy?")


def check_gradients(module, x: torch.Tensor, *, what: str = "the module", quiet: bool = False) -> None:
    """Backpropagate through ``module(x)``: the input and every trainable parameter get a finite grad.

    ``x`` is cloned as a leaf that requires grad; the loss is ``(out * w).sum()`` with a fixed
    random ``w`` drawn from a local generator (the global RNG is untouched). Gradients may be zero;
    they must exist and be finite. Parameter grads are set to None before and after.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise AssertionError("check_gradients needs a floating-point input tensor x.")
    params = ([(n, p) for n, p in module.named_parameters() if p.requires_grad]
              if isinstance(module, nn.Module) else [])
    for _, p in params:
        p.grad = None
    try:
        leaf = x.detach().clone().requires_grad_(True)
        out = check_call(module, leaf, what=what)
        if not isinstance(out, torch.Tensor):
            raise AssertionError(f"{what} should return a torch.Tensor, got {type(out).__name__}. "
                                 "Did forward forget a `return`?")
        if not out.requires_grad:
            raise AssertionError(f"the output of {what} does not require grad, so no gradient "
                                 "reaches the input or any parameter: is forward (or its last step) "
                                 "run under torch.no_grad(), on x.detach(), or through .data / "
                                 ".item() / numpy?")
        generator = torch.Generator().manual_seed(0)
        w = torch.randn(out.shape, generator=generator, dtype=torch.float64)
        w = w.to(device=out.device, dtype=out.dtype)
        check_call(lambda: (out * w).sum().backward(), what=f"the backward pass through {what}")
        if leaf.grad is None:
            raise AssertionError(f"no gradient reached the input x of {what}: is the output "
                                 "computed under torch.no_grad(), from x.detach(), or through "
                                 ".data / .item() / numpy?")
        message = _nonfinite_message(leaf.grad, f"the gradient of the input x of {what}")
        if message:
            raise AssertionError(message)
        missing = [name for name, p in params if p.grad is None]
        if missing:
            raise AssertionError(f"no gradient reached {', '.join(missing)} of {what}: "
                                 + _NO_GRADIENT)
        for name, p in params:
            message = _nonfinite_message(p.grad, f"the gradient of {name} of {what}")
            if message:
                raise AssertionError(message)
    finally:
        for _, p in params:
            p.grad = None
    n = len(params)
    if n == 0:
        _passed("gradients reach the input (no parameters to train)", quiet)
    elif n == 1:
        _passed("gradients reach the input and the 1 parameter", quiet)
    else:
        _passed(f"gradients reach the input and all {n} parameters", quiet)


@torch.no_grad()
def load_dense_weight(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None = None):
    """Copy a dense (out, in) weight into ``layer``, an ``nn.Linear`` or a 1×1 ``nn.Conv2d``.

    The notebooks allow either layer for a fully connected step; the hidden tests load known
    weights through this function whichever the student chose.
    """
    if not isinstance(layer, (nn.Linear, nn.Conv2d, nn.Conv1d)):
        raise AssertionError(f"expected an nn.Linear or a 1×1 nn.Conv2d, found {type(layer).__name__}. "
                             "Use one of those for the fully connected layers (see the docstring).")
    if layer.weight.numel() != weight.numel() or layer.weight.shape[:2] != weight.shape[:2]:
        raise AssertionError(f"{layer} has a weight of shape {tuple(layer.weight.shape)}; expected "
                             f"(out, in) = {tuple(weight.shape[:2])} (plus 1×1 for a conv).")
    layer.weight.copy_(weight.reshape(layer.weight.shape))
    if bias is not None:
        if layer.bias is None:
            raise AssertionError(f"{layer} has no bias, but the docstring asks for one.")
        layer.bias.copy_(bias)
