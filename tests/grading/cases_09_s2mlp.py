"""Submissions for 09_s2mlp that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

The solution's S2Attention calls the student's spatial_shift, split_weights and split_attention, so a
mistake in those also costs the S2Attention tests that compare with a definition.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "09_s2mlp"

_SHIFT = {"test_shift_rules", "test_shift_values"}
_SPLIT = {"test_split_behaviour", "test_split_values"}
_S2 = {"test_s2_structure", "test_s2_behaviour", "test_s2_reference"}

# --------------------------------------------------------------------------------- spatial_shift
_SHIFT_HEAD = '''
def spatial_shift(x, order):
    if order not in ("wh", "hw"):
        raise ValueError(f"order must be 'wh' or 'hw', got {order!r}")
'''


def _shift(body: str, head: str = _SHIFT_HEAD) -> str:
    return head + body


# The solution's structure with one line changed: how a quarter moves along `axis` by `step`.
def _shift_by_quarters(move: str, axes: str = '(3, 2) if order == "wh" else (2, 3)',
                       cut: str = "torch.tensor_split(x, 4, dim=1)") -> str:
    return _shift(f'''
    first, second = {axes}
    moves = [(first, 1), (first, -1), (second, 1), (second, -1)]

    def move(q, axis, step):
        n = q.shape[axis]
{move}

    return torch.cat([move(q, a, s) for q, (a, s) in zip({cut}, moves)], dim=1)
''')


_MOVE_OK = '''        if step > 0:
            return torch.cat([q.narrow(axis, 0, 1), q.narrow(axis, 0, n - 1)], dim=axis)
        return torch.cat([q.narrow(axis, 1, n - 1), q.narrow(axis, n - 1, 1)], dim=axis)
'''

_SMEAR = _shift('''
    out = x.clone()
    C = x.shape[1]
    b = [0]
    for q in range(4):
        b.append(b[-1] + C // 4 + (1 if q < C % 4 else 0))
    w_first = order == "wh"
    for q in range(4):
        along_w = (q < 2) == w_first
        lo, hi = b[q], b[q + 1]
        if along_w and q % 2 == 0:
            out[:, lo:hi, :, 1:] = out[:, lo:hi, :, :-1]
        elif along_w:
            out[:, lo:hi, :, :-1] = out[:, lo:hi, :, 1:]
        elif q % 2 == 0:
            out[:, lo:hi, 1:, :] = out[:, lo:hi, :-1, :]
        else:
            out[:, lo:hi, :-1, :] = out[:, lo:hi, 1:, :]
    return out
''')

# ------------------------------------------------------------------------------ split attention
_SPLIT_REST = '''

def split_attention(parts, w1, w2):
    weights = split_weights(parts, w1, w2)
    return (weights[..., None, None] * parts).sum(dim=1)
'''


def _split(weights_body: str) -> str:
    return "\ndef split_weights(parts, w1, w2):\n" + weights_body + _SPLIT_REST


def _split_with(a: str = 'parts.sum(dim=(1, 3, 4))', hidden: str = "F.gelu(a @ w1.T)",
                read: str = '"b (k c) -> b k c"', dim: int = 1) -> str:
    return _split(f'''    K = parts.shape[1]
    a = {a}
    a_hat = {hidden} @ w2.T
    return torch.softmax(rearrange(a_hat, {read}, k=K), dim={dim})
''')


# ---------------------------------------------------------------------------------- S2Attention
_S2_INIT = '''
class S2Attention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
'''
_S2_LAYERS = '''        self.mlp1 = nn.Linear(channels, 3 * channels)
        self.attn_fc1 = nn.Linear(channels, channels, bias=False)
        self.attn_fc2 = nn.Linear(channels, 3 * channels, bias=False)
        self.mlp2 = nn.Linear(channels, channels)
'''
_PARTS_OK = '''        z = self.mlp1(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        C = x.shape[1]
        return torch.stack([spatial_shift(z[:, :C], "wh"), spatial_shift(z[:, C:2 * C], "hw"), z[:, 2 * C:]], dim=1)
'''
_S2_METHODS = '''
    def split_weights(self, x):
        return split_weights(self.parts(x), self.attn_fc1.weight, self.attn_fc2.weight)

    def forward(self, x):
        mixed = split_attention(self.parts(x), self.attn_fc1.weight, self.attn_fc2.weight)
        return self.mlp2(mixed.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
'''


def _s2(parts: str = _PARTS_OK, layers: str = _S2_LAYERS, init: str = _S2_INIT,
        methods: str = _S2_METHODS) -> str:
    return init + layers + "\n    def parts(self, x):\n" + parts + methods


_STRICT_INIT = _S2_INIT + _S2_LAYERS

# ------------------------------------------------------------------------------------ the fix
_BUGGY_NUDGE = '''
def nudge_down(t):
    half = t.shape[-1] // 2
    t[:, 1:, :, :half] = t[:, :-1, :, :half]
    return t
'''

WRONG = {
    # Part A: the spatial shift.
    # Inside the block the parts are strided views, so the smear differs from the one on a plain
    # tensor and the behaviour checks' known answers (built with the same shift) catch it too.
    "shift_in_place_smear": Wrong({"spatial_shift": _SMEAR},
                                  loses={"test_shift_values", "test_s2_behaviour", "test_s2_reference"}),
    "shift_h_and_w_swapped": Wrong({"spatial_shift": _shift_by_quarters(
        _MOVE_OK, axes='(2, 3) if order == "wh" else (3, 2)')}, loses={"test_shift_values", "test_s2_reference"}),
    "shift_wraps_around_with_roll": Wrong({"spatial_shift": _shift_by_quarters(
        "        return torch.roll(q, shifts=step, dims=axis)\n")}, loses={"test_shift_values", "test_s2_reference"}),
    "shift_zero_border": Wrong({"spatial_shift": _shift_by_quarters('''        zero = torch.zeros_like(q.narrow(axis, 0, 1))
        if step > 0:
            return torch.cat([zero, q.narrow(axis, 0, n - 1)], dim=axis)
        return torch.cat([q.narrow(axis, 1, n - 1), zero], dim=axis)
''')}, loses={"test_shift_values", "test_s2_reference"}),
    "shift_direction_reversed": Wrong({"spatial_shift": _shift_by_quarters('''        if step < 0:
            return torch.cat([q.narrow(axis, 0, 1), q.narrow(axis, 0, n - 1)], dim=axis)
        return torch.cat([q.narrow(axis, 1, n - 1), q.narrow(axis, n - 1, 1)], dim=axis)
''')}, loses={"test_shift_values", "test_s2_reference"}),
    # The pseudo-code's integer cut: the same quarters for C divisible by 4, others otherwise.
    "shift_paper_integer_cut": Wrong({"spatial_shift": _shift_by_quarters(
        _MOVE_OK, cut="torch.split(x, [C // 4, C // 2 - C // 4, 3 * C // 4 - C // 2, C - 3 * C // 4], dim=1)"
    ).replace("    first, second", "    C = x.shape[1]\n    first, second")},
        loses={"test_shift_values", "test_s2_reference"}),
    "shift_without_validation": Wrong({"spatial_shift": _shift_by_quarters(_MOVE_OK, axes='(3, 2) if order == "wh" else (2, 3)').replace(
        _SHIFT_HEAD, "\ndef spatial_shift(x, order):\n")}, loses={"test_shift_rules"}),
    "shift_error_without_the_valid_orders": Wrong({"spatial_shift": _shift_by_quarters(_MOVE_OK).replace(
        "order must be 'wh' or 'hw', got {order!r}", "unknown order {order!r}")}, loses={"test_shift_rules"}),
    "shift_writes_into_its_input": Wrong({"spatial_shift": _shift_by_quarters(_MOVE_OK).replace(
        "    return torch.cat([move(q, a, s) for q, (a, s) in zip(torch.tensor_split(x, 4, dim=1), moves)], dim=1)",
        "    result = torch.cat([move(q, a, s) for q, (a, s) in zip(torch.tensor_split(x, 4, dim=1), moves)], dim=1)\n"
        "    with torch.no_grad():\n        x.copy_(result)\n    return x")},
        loses={"test_shift_values"} | _S2),
    # Part B: split attention.
    "split_softmax_over_channels": Wrong({"split_attention": _split_with(dim=2)}, loses=_SPLIT | (_S2 - {"test_s2_structure"})),
    "split_mean_instead_of_sum": Wrong({"split_attention": _split_with(a="parts.mean(dim=(1, 3, 4))")},
                                       loses=_SPLIT | {"test_s2_reference"}),
    "split_missing_gelu": Wrong({"split_attention": _split_with(hidden="(a @ w1.T)")},
                                loses=_SPLIT | {"test_s2_reference"}),
    "split_relu_instead_of_gelu": Wrong({"split_attention": _split_with(hidden="torch.relu(a @ w1.T)")},
                                        loses=_SPLIT | {"test_s2_reference"}),
    "split_tanh_approximate_gelu": Wrong({"split_attention": _split_with(hidden='F.gelu(a @ w1.T, approximate="tanh")')},
                                         loses=_SPLIT | {"test_s2_reference"}),
    "split_reads_channel_major": Wrong({"split_attention": _split_with(read='"b (c k) -> b k c"')},
                                       loses=_SPLIT | {"test_s2_behaviour", "test_s2_reference"}),
    "split_w1_not_transposed": Wrong({"split_attention": _split_with(hidden="F.gelu(a @ w1)")},
                                     loses={"test_split_values", "test_s2_reference"}),
    "split_three_parts_hard_coded": Wrong({"split_attention": _split('''    a = parts.sum(dim=(1, 3, 4))
    a_hat = F.gelu(a @ w1.T) @ w2.T
    return torch.softmax(rearrange(a_hat, "b (k c) -> b k c", k=3), dim=1)
''')}, loses=_SPLIT),
    "split_squeeze_drops_the_batch_of_one": Wrong({"split_attention": _split('''    K = parts.shape[1]
    a = parts.sum(dim=(1, 3, 4), keepdim=True).squeeze()
    a_hat = F.gelu(a @ w1.T) @ w2.T
    return torch.softmax(rearrange(a_hat, "b (k c) -> b k c", k=K), dim=1)
''')}, loses=_SPLIT | _S2),
    # Part C: the block.
    "s2_third_part_shifted_too": Wrong({"s2_attention": _s2(parts=_PARTS_OK.replace(
        'z[:, 2 * C:]]', 'spatial_shift(z[:, 2 * C:], "wh")]'))}, loses={"test_s2_behaviour", "test_s2_reference"}),
    "s2_both_parts_shifted_the_same_way": Wrong({"s2_attention": _s2(parts=_PARTS_OK.replace(
        'spatial_shift(z[:, C:2 * C], "hw")', 'spatial_shift(z[:, C:2 * C], "wh")'))},
        loses={"test_s2_behaviour", "test_s2_reference"}),
    "s2_shifts_exchanged": Wrong({"s2_attention": _s2(parts=_PARTS_OK.replace('"wh"', '"WH"').replace(
        '"hw"', '"wh"').replace('"WH"', '"hw"'))}, loses={"test_s2_behaviour", "test_s2_reference"}),
    "s2_mlp1_read_channel_major": Wrong({"s2_attention": _s2(parts='''        z = self.mlp1(rearrange(x, "b c h w -> b h w c"))
        x1, x2, x3 = rearrange(z, "b h w (c k) -> k b c h w", k=3)
        return torch.stack([spatial_shift(x1, "wh"), spatial_shift(x2, "hw"), x3], dim=1)
''')}, loses={"test_s2_behaviour", "test_s2_reference"}),
    # The blog's erratum: the split attention is built 512 wide whatever the channels are.
    "s2_split_attention_512_wide": Wrong({"s2_attention": _s2(layers='''        self.mlp1 = nn.Linear(channels, 3 * channels)
        self.attn_fc1 = nn.Linear(512, 512, bias=False)
        self.attn_fc2 = nn.Linear(512, 3 * 512, bias=False)
        self.mlp2 = nn.Linear(channels, channels)
''')}, loses=_S2),
    "s2_weights_from_the_unshifted_parts": Wrong({"s2_attention": _s2(methods='''
    def unshifted(self, x):
        return rearrange(self.mlp1(rearrange(x, "b c h w -> b h w c")), "b h w (k c) -> b k c h w", k=3)

    def split_weights(self, x):
        return split_weights(self.unshifted(x), self.attn_fc1.weight, self.attn_fc2.weight)

    def forward(self, x):
        weights = self.split_weights(x)
        mixed = (weights[..., None, None] * self.parts(x)).sum(dim=1)
        return self.mlp2(mixed.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''')}, loses={"test_s2_reference"}),
    "s2_mlp1_without_bias": Wrong({"s2_attention": _s2(layers=_S2_LAYERS.replace(
        "nn.Linear(channels, 3 * channels)\n", "nn.Linear(channels, 3 * channels, bias=False)\n", 1))},
        loses=_S2),   # the behaviour checks load a bias into mlp1 too
    "s2_split_attention_with_bias": Wrong({"s2_attention": _s2(layers=_S2_LAYERS.replace(
        "nn.Linear(channels, channels, bias=False)", "nn.Linear(channels, channels)"))},
        loses=_S2),   # the behaviour checks' known answers assume no bias
    "s2_without_mlp2": Wrong({"s2_attention": _s2(methods=_S2_METHODS.replace(
        "return self.mlp2(mixed.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)", "return mixed"))},
        loses={"test_s2_behaviour", "test_s2_reference"}),   # no gradient reaches mlp2
    "s2_adds_a_residual": Wrong({"s2_attention": _s2(methods=_S2_METHODS.replace(
        "return self.mlp2(", "return x + self.mlp2("))}, loses={"test_s2_behaviour", "test_s2_reference"}),
    "s2_accepts_any_channels": Wrong({"s2_attention": _s2(init='''
class S2Attention(nn.Module):
    def __init__(self, channels):
        super().__init__()
''')}, loses={"test_s2_structure"}),
    "s2_error_without_the_value": Wrong({"s2_attention": _s2(init=_S2_INIT.replace(
        'f"channels must be a positive int, got {channels!r}"', '"channels must be a positive int"'))},
        loses={"test_s2_structure"}),
    "s2_accepts_true_and_floats": Wrong({"s2_attention": _s2(init='''
class S2Attention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        channels = int(channels)
''')}, loses={"test_s2_structure"}),
    # Part D: the parameter count.
    "params_forgets_split_attention": Wrong({"s2_params": '''
def s2_added_parameters(channels_per_block):
    return sum(4 * C * C + 4 * C for C in channels_per_block)
'''}, loses={"test_s2_params"}),
    "params_without_biases": Wrong({"s2_params": '''
def s2_added_parameters(channels_per_block):
    return sum(8 * C * C for C in channels_per_block)
'''}, loses={"test_s2_params"}),
    "params_returns_a_float": Wrong({"s2_params": '''
def s2_added_parameters(channels_per_block):
    return float(sum(8 * C * C + 4 * C for C in channels_per_block))
'''}, loses={"test_s2_params"}),
    # Part E: the smear.
    "fix_left_unfixed": Wrong({"fix_nudge": _BUGGY_NUDGE}, loses={"test_fix_nudge"}),
    "fix_clone_then_the_same_assignment": Wrong({"fix_nudge": '''
def nudge_down(t):
    t = t.clone()
    half = t.shape[-1] // 2
    t[:, 1:, :, :half] = t[:, :-1, :, :half]
    return t
'''}, loses={"test_fix_nudge"}),
    "fix_wraps_around_with_roll": Wrong({"fix_nudge": '''
def nudge_down(t):
    half = t.shape[-1] // 2
    return torch.cat([torch.roll(t[..., :half], 1, dims=1), t[..., half:]], dim=-1)
'''}, loses={"test_fix_nudge"}),
    "fix_moves_every_channel": Wrong({"fix_nudge": '''
def nudge_down(t):
    return torch.cat([t[:, :1], t[:, :-1]], dim=1)
'''}, loses={"test_fix_nudge"}),
    "fix_moves_along_w": Wrong({"fix_nudge": '''
def nudge_down(t):
    half = t.shape[-1] // 2
    moving = t[..., :half]
    moved = torch.cat([moving[:, :, :1], moving[:, :, :-1]], dim=2)
    return torch.cat([moved, t[..., half:]], dim=-1)
'''}, loses={"test_fix_nudge"}),
    # Cheating: the answer key imported, subclassed, wrapped, built by the factory or reached at run time.
    "cheat_import_reference_shift": Wrong({"spatial_shift": '''
from attn_course.modules.s2 import spatial_shift_1, spatial_shift_2

def spatial_shift(x, order):
    if order not in ("wh", "hw"):
        raise ValueError(f"order must be 'wh' or 'hw', got {order!r}")
    return spatial_shift_1(x) if order == "wh" else spatial_shift_2(x)
'''}, loses=_SHIFT | _S2),
    "cheat_import_reference": Wrong({"s2_attention": """
from attn_course.modules import S2Attention
"""}, loses=_S2),
    "cheat_subclass_reference": Wrong({"s2_attention": """
from attn_course.modules import s2 as _s2_module

class S2Attention(_s2_module.S2Attention):
    pass
"""}, loses=_S2),
    "cheat_wrap_reference": Wrong({"s2_attention": """
import attn_course.modules

class S2Attention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        inner = attn_course.modules.S2Attention(channels)
        self.mlp1, self.attn_fc1, self.attn_fc2, self.mlp2 = inner.mlp1, inner.attn_fc1, inner.attn_fc2, inner.mlp2
        object.__setattr__(self, "inner", [inner])

    def split_weights(self, x):
        return self.inner[0].split_weights(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_S2),
    "cheat_create_attention": Wrong({"s2_attention": """
from attn_course import create_attention

def S2Attention(channels):
    return create_attention("s2", channels)
"""}, loses=_S2),
    "cheat_reference_called_at_run_time": Wrong({"s2_attention": _STRICT_INIT + '''
    def split_weights(self, x):
        return __import__("attn_course.modules.s2", fromlist=["S2Attention"]).S2Attention.split_weights(self, x)

    def forward(self, x):
        return __import__("attn_course.modules.s2", fromlist=["S2Attention"]).S2Attention.forward(self, x)
'''}, loses=_S2),
    "cheat_partialmethod_of_the_reference": Wrong({"s2_attention": '''
import functools

def _reference():
    return __import__("attn_course.modules.s2", fromlist=["S2Attention"]).S2Attention
''' + _STRICT_INIT + '''
    split_weights = functools.partialmethod(_reference().split_weights)
    forward = functools.partialmethod(_reference().forward)
'''}, loses=_S2),
    "cheat_reference_split_through_a_closure": Wrong({"split_attention": '''
import types
from attn_course import create_attention as _ca

_method = type(_ca("s2", 4))._split_attention


def split_weights(parts, w1, w2):
    holder = types.SimpleNamespace(attn_fc1=lambda a: a @ w1.T, attn_fc2=lambda a: a @ w2.T)
    return _method(holder, parts)
''' + _SPLIT_REST}, loses=_SPLIT | _S2),
    "cheat_tensor_subclass_lies": Wrong({"split_attention": cheats.LIAR_TENSOR + _split('''    K = parts.shape[1]
    a = parts.mean(dim=(1, 3, 4))
    a_hat = (a @ w1.T) @ w2.T
    return torch.softmax(rearrange(a_hat, "b (k c) -> b k c", k=K), dim=2).as_subclass(_Liar)
''')}, loses=_SPLIT | _S2),
    "cheat_number_that_equals_anything": Wrong({"s2_params": cheats.always_equal(
        "s2_added_parameters(channels_per_block)")}, loses={"test_s2_params"}),
    "cheat_reference_counts_the_parameters": Wrong({"s2_params": '''
from attn_course import create_attention

def s2_added_parameters(channels_per_block):
    return sum(sum(p.numel() for p in create_attention("s2", C).parameters()) for C in channels_per_block)
'''}, loses={"test_s2_params"}),
    # Judged by the real autograder only: the test cell's own definition, called from forward. The
    # definition is made in the last S2 test cell, so the two cells before it cannot even find it.
}

CORRECT = {
    # Index lists with clamping; einsum and an explicit softmax; the block with F.linear on its layers.
    "clamped_indices_and_einsum": {"spatial_shift": '''
def spatial_shift(x, order):
    """Each output pixel reads one input pixel, clamped to the map."""
    if order != "wh" and order != "hw":
        raise ValueError(f"spatial_shift: unknown order {order!r}; use 'wh' or 'hw'")
    B, C, H, W = x.shape
    w_moves = [1, -1, 0, 0] if order == "wh" else [0, 0, 1, -1]
    h_moves = [0, 0, 1, -1] if order == "wh" else [1, -1, 0, 0]
    pieces = []
    for q, chunk in enumerate(torch.tensor_split(x, 4, dim=1)):
        rows = (torch.arange(H, device=x.device) - h_moves[q]).clamp(0, H - 1)
        cols = (torch.arange(W, device=x.device) - w_moves[q]).clamp(0, W - 1)
        pieces.append(chunk.index_select(2, rows).index_select(3, cols))
    return torch.cat(pieces, dim=1)
''', "split_attention": '''
from einops import einsum


def split_weights(parts, w1, w2):
    B, K, C, H, W = parts.shape
    a = einsum(parts, "b k c h w -> b c")
    hidden = F.gelu(F.linear(a, w1))
    logits = F.linear(hidden, w2).view(B, K, C)
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    return e / e.sum(dim=1, keepdim=True)


def split_attention(parts, w1, w2):
    return einsum(split_weights(parts, w1, w2), parts, "b k c, b k c h w -> b c h w")
''', "s2_attention": '''
class S2Attention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if type(channels) is not int or channels <= 0:
            raise ValueError(f"S2Attention: channels={channels!r} is not a positive integer")
        self.mlp1 = nn.Linear(channels, channels * 3)
        self.mlp2 = nn.Linear(channels, channels)
        self.attn_fc1 = nn.Linear(channels, channels, bias=False)
        self.attn_fc2 = nn.Linear(channels, channels * 3, bias=False)

    def _parts(self, x):
        z = torch.einsum("bchw,oc->bohw", x, self.mlp1.weight) + self.mlp1.bias.view(1, -1, 1, 1)
        x1, x2, x3 = torch.chunk(z, 3, dim=1)
        return torch.stack((spatial_shift(x1, "wh"), spatial_shift(x2, "hw"), x3), dim=1)

    def split_weights(self, x):
        return split_weights(self._parts(x), self.attn_fc1.weight, self.attn_fc2.weight)

    def forward(self, x):
        mixed = split_attention(self._parts(x), self.attn_fc1.weight, self.attn_fc2.weight)
        return torch.einsum("bchw,oc->bohw", mixed, self.mlp2.weight) + self.mlp2.bias[:, None, None]
''', "fix_nudge": '''
def nudge_down(t):
    H, C = t.shape[1], t.shape[-1]
    rows = (torch.arange(H) - 1).clamp(min=0)
    moved = t.index_select(1, rows)
    keep = torch.arange(C) >= C // 2
    return torch.where(keep, t, moved)
'''},
    # Replicate padding and a crop; nn.GELU and reshape; the shift assigned from the untouched input.
    "replicate_padding_and_modules": {"spatial_shift": '''
def _one_step(q, axis, step):
    """Pad one replicated row or column on the side the content moves away from, then crop."""
    if q.shape[1] == 0:
        return q
    if axis == 3:
        padded = F.pad(q, (1, 0, 0, 0) if step > 0 else (0, 1, 0, 0), mode="replicate")
        return padded[..., :-1] if step > 0 else padded[..., 1:]
    padded = F.pad(q, (0, 0, 1, 0) if step > 0 else (0, 0, 0, 1), mode="replicate")
    return padded[:, :, :-1] if step > 0 else padded[:, :, 1:]


def spatial_shift(x, order):
    axes = {"wh": (3, 3, 2, 2), "hw": (2, 2, 3, 3)}
    if order not in axes:
        raise ValueError(f"order {order!r} is not one of 'wh', 'hw'")
    quarters = torch.tensor_split(x, 4, dim=1)
    return torch.cat([_one_step(q, a, s) for q, a, s in zip(quarters, axes[order], (1, -1, 1, -1))], dim=1)
''', "split_attention": '''
_gelu = nn.GELU()


def split_weights(parts, w1, w2):
    B, K, C = parts.shape[:3]
    a = parts.flatten(3).sum(dim=3).sum(dim=1)
    a_hat = _gelu(a @ w1.t()) @ w2.t()
    return F.softmax(a_hat.reshape(B, K, C), dim=1)


def split_attention(parts, w1, w2):
    weights = split_weights(parts, w1, w2)
    out = torch.zeros_like(parts[:, 0])
    for k in range(parts.shape[1]):
        out = out + weights[:, k, :, None, None] * parts[:, k]
    return out
''', "s2_attention": '''
class S2Attention(nn.Module):
    """S2-MLPv2 block."""

    def __init__(self, channels: int):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int):
            raise ValueError(f"channels must be an integer, got {channels!r}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.channels = channels
        self.mlp1 = nn.Linear(channels, 3 * channels)
        self.attn_fc1 = nn.Linear(channels, channels, bias=False)
        self.attn_fc2 = nn.Linear(channels, 3 * channels, bias=False)
        self.mlp2 = nn.Linear(channels, channels)

    def forward(self, x):
        B, C, H, W = x.shape
        z = self.mlp1(x.flatten(2).transpose(1, 2))                  # (B, HW, 3C)
        z = z.transpose(1, 2).reshape(B, 3, C, H, W)
        parts = torch.stack([spatial_shift(z[:, 0], "wh"), spatial_shift(z[:, 1], "hw"), z[:, 2]], dim=1)
        mixed = split_attention(parts, self.attn_fc1.weight, self.attn_fc2.weight)
        return self.mlp2(mixed.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(B, C, H, W)

    def split_weights(self, x):
        B, C, H, W = x.shape
        z = self.mlp1(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(B, 3, C, H, W)
        parts = torch.stack([spatial_shift(z[:, 0], "wh"), spatial_shift(z[:, 1], "hw"), z[:, 2]], dim=1)
        return split_weights(parts, self.attn_fc1.weight, self.attn_fc2.weight)
''', "s2_params": '''
def s2_added_parameters(channels_per_block):
    total = 0
    for C in channels_per_block:
        total += (3 * C * C + 3 * C) + C * C + 3 * C * C + (C * C + C)
    return total
'''},
    # The paper's in-place assignments, made safe: every slice is read from the untouched input.
    "assign_from_the_input": {"spatial_shift": '''
def spatial_shift(x, order):
    if order not in ["wh", "hw"]:
        raise ValueError("order must be 'wh' or 'hw', got " + repr(order))
    out = torch.empty_like(x)
    C = x.shape[1]
    bounds = [0]
    for q in range(4):
        bounds.append(bounds[-1] + C // 4 + (1 if q < C % 4 else 0))
    w_first = order == "wh"
    for q in range(4):
        lo, hi = bounds[q], bounds[q + 1]
        src, dst = x[:, lo:hi], out[:, lo:hi]
        dst.copy_(src)                                            # the vacated border keeps its values
        along_w = (q < 2) == w_first
        if along_w and q % 2 == 0:
            dst[..., 1:] = src[..., :-1]
        elif along_w:
            dst[..., :-1] = src[..., 1:]
        elif q % 2 == 0:
            dst[:, :, 1:] = src[:, :, :-1]
        else:
            dst[:, :, :-1] = src[:, :, 1:]
    return out
''', "fix_nudge": '''
def nudge_down(t):
    out = t.clone()
    half = t.shape[-1] // 2
    out[:, 1:, :, :half] = t[:, :-1, :, :half]      # read from t, write into out: no overlap
    return out
''', "s2_params": '''
def s2_added_parameters(channels_per_block):
    return int(sum(map(lambda C: 4 * C * (2 * C + 1), channels_per_block)))
'''},
}

# A hanging cell is tested in notebooks 01-03 (the autograder's timeout does not depend on the
# notebook, and each hanging case costs the whole timeout of CI time).
