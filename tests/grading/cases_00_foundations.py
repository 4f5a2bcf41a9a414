"""Submissions for 00_foundations that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them (``_LOSES``); ``cheat_`` cases try to get points without doing the work.
CORRECT cases are written differently from the solution and must keep full marks.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "00_foundations"

_WRONG_ANSWERS = {
    # Part A: global_pools
    "pools_over_channels": {"global_pools": """
def global_pools(x):
    return reduce(x, "b c h w -> b h w", "mean"), reduce(x, "b c h w -> b h w", "max")
"""},
    "mean_where_max_was_asked": {"global_pools": """
def global_pools(x):
    avg = x.mean(dim=(2, 3))
    return avg, avg
"""},
    "pools_in_the_wrong_order": {"global_pools": """
def global_pools(x):
    return x.amax(dim=(2, 3)), x.mean(dim=(2, 3))
"""},
    "squeeze_drops_the_batch_of_one": {"global_pools": """
import torch.nn.functional as F

def global_pools(x):
    return F.adaptive_avg_pool2d(x, 1).squeeze(), F.adaptive_max_pool2d(x, 1).squeeze()
"""},
    "max_starts_at_zero": {"global_pools": """
def global_pools(x):
    return x.mean(dim=(2, 3)), x.flatten(2).clamp(min=0).max(dim=2).values
"""},
    # Part B: channel_shuffle
    "shuffle_factors_swapped": {"channel_shuffle": """
def channel_shuffle(x, groups):
    if groups < 1 or x.shape[1] % groups:
        raise ValueError(f"groups={groups} must divide the {x.shape[1]} channels")
    return rearrange(x, "b (c g) h w -> b (g c) h w", g=groups)
"""},
    "shuffle_is_the_identity": {"channel_shuffle": """
def channel_shuffle(x, groups):
    if groups < 1 or x.shape[1] % groups:
        raise ValueError(f"groups={groups} must divide the {x.shape[1]} channels")
    return rearrange(x, "b (g c) h w -> b (g c) h w", g=groups)
"""},
    "shuffle_transposes_channels_with_height": {"channel_shuffle": """
def channel_shuffle(x, groups):
    B, C, H, W = x.shape
    if groups < 1 or C % groups:
        raise ValueError(f"groups={groups} must divide the {C} channels")
    return x.view(B, groups, C // groups, H, W).transpose(2, 3).reshape(B, C, H, W)
"""},
    "shuffle_without_value_error": {"channel_shuffle": """
def channel_shuffle(x, groups):
    return rearrange(x, "b (g c) h w -> b (c g) h w", g=groups)
"""},
    "shuffle_checks_divisibility_only": {"channel_shuffle": """
def channel_shuffle(x, groups):
    if x.shape[1] % groups != 0:
        raise ValueError(f"groups={groups} must divide the {x.shape[1]} channels")
    return rearrange(x, "b (g c) h w -> b (c g) h w", g=groups)
"""},
    # Part C: apply_gate
    "gate_without_reshape": {"apply_gate": """
def apply_gate(x, gate):
    return x * gate
"""},
    "forgets_the_spatial_gate": {"apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    if tuple(gate.shape) in [(B, C), (B, C, 1, 1)]:
        return x * gate.reshape(B, C, 1, 1)
    if tuple(gate.shape) == (B, C, H, W):
        return x * gate
    raise ValueError(f"expected a gate of shape {(B, C)}, {(B, C, 1, 1)} or {(B, C, H, W)}")
"""},
    "spatial_gate_unsqueezed_nowhere": {"apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    if gate.dim() == 2:
        if tuple(gate.shape) != (B, C):
            raise ValueError(f"a 2-D gate must be {(B, C)}")
        gate = gate[:, :, None, None]
    elif gate.dim() == 3:
        if tuple(gate.shape) != (B, H, W):
            raise ValueError(f"a 3-D gate must be {(B, H, W)}")
    elif gate.dim() != 4:
        raise ValueError("expected a 2-, 3- or 4-D gate")
    return x * gate
"""},
    "gate_checks_dimensions_only": {"apply_gate": """
def apply_gate(x, gate):
    if gate.dim() == 2:
        gate = gate[:, :, None, None]
    elif gate.dim() == 3:
        gate = gate[:, None]
    elif gate.dim() != 4:
        raise ValueError(f"expected a 2-, 3- or 4-D gate, got {tuple(gate.shape)}")
    return x * gate
"""},
    "gate_applied_in_place": {"apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    shape = tuple(gate.shape)
    if shape in [(B, C), (B, C, 1, 1)]:
        return x.mul_(gate.reshape(B, C, 1, 1))
    if shape in [(B, H, W), (B, 1, H, W)]:
        return x.mul_(gate.reshape(B, 1, H, W))
    if shape == (B, C, H, W):
        return x.mul_(gate)
    raise ValueError(f"gate {shape} fits none of {(B, C)}, {(B, H, W)}, {(B, C, H, W)} and their 4-D forms")
"""},
    # Part D: mix_channels
    "mix_with_the_transposed_weight": {"mix_channels": """
def mix_channels(x, weight):
    return torch.einsum("bchw,co->bohw", x, weight)
"""},
    "mix_averages_instead_of_sums": {"mix_channels": """
def mix_channels(x, weight):
    return einsum(x, weight, "b c h w, o c -> b o h w") / x.shape[1]
"""},
}

_GP, _GP_REF = "test_global_pools", "test_global_pools_reference"
_CS, _CS_REF = "test_channel_shuffle", "test_channel_shuffle_reference"
_AG, _AG_REF = "test_apply_gate", "test_apply_gate_reference"
_MC, _MC_REF = "test_mix_channels", "test_mix_channels_reference"
_LOSES = {
    "pools_over_channels": {_GP, _GP_REF},
    "mean_where_max_was_asked": {_GP, _GP_REF},
    "pools_in_the_wrong_order": {_GP, _GP_REF},
    "squeeze_drops_the_batch_of_one": {_GP, _GP_REF},
    "max_starts_at_zero": {_GP_REF},
    "shuffle_factors_swapped": {_CS, _CS_REF},
    "shuffle_is_the_identity": {_CS, _CS_REF},
    "shuffle_transposes_channels_with_height": {_CS, _CS_REF},
    "shuffle_without_value_error": {_CS, _CS_REF},
    "shuffle_checks_divisibility_only": {_CS_REF},
    "gate_without_reshape": {_AG, _AG_REF},
    "forgets_the_spatial_gate": {_AG, _AG_REF},
    "spatial_gate_unsqueezed_nowhere": {_AG, _AG_REF},
    "gate_checks_dimensions_only": {_AG, _AG_REF},
    "gate_applied_in_place": {_AG, _AG_REF},
    "mix_with_the_transposed_weight": {_MC, _MC_REF},
    "mix_averages_instead_of_sums": {_MC, _MC_REF},
}
_EVERYTHING_AFTER_PART_A = {_GP_REF, _CS, _CS_REF, _AG, _AG_REF, _MC, _MC_REF}
_WRONG_POOLS = """
def global_pools(x):
    avg = x.mean(dim=(2, 3))
    return avg, avg
"""

WRONG = {name: Wrong(answers, _LOSES[name]) for name, answers in _WRONG_ANSWERS.items()}
WRONG.update({
    # Cheating: the course's reference code doing the work.
    "cheat_reference_pooling": Wrong({"global_pools": """
from attn_course.modules import _pooling

def global_pools(x):
    return _pooling.spatial_mean(x).flatten(1), _pooling.spatial_max(x).flatten(1)
"""}, loses={_GP, _GP_REF}),
    "cheat_shuffle_from_the_reference": Wrong({"channel_shuffle": """
import importlib
_shuffle = importlib.import_module("attn_course.modules.shuffle")

def channel_shuffle(x, groups):
    return _shuffle.channel_shuffle(x, groups)
"""}, loses={_CS, _CS_REF}),
    # Cheating: a wrong answer, with the tests disarmed first.
    "cheat_patched_checks": Wrong({"global_pools": """
import attn_course
for _name in attn_course.checks.__all__:
    setattr(attn_course.checks, _name, lambda *args, **kwargs: None)
""" + _WRONG_POOLS}, loses=_EVERYTHING_AFTER_PART_A | {_GP}),
    "cheat_patched_torch": Wrong({"global_pools": """
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
""" + _WRONG_POOLS}, loses=_EVERYTHING_AFTER_PART_A | {_GP}),
    "cheat_patched_traceback": Wrong({"global_pools": """
import IPython
IPython.get_ipython().showtraceback = lambda *args, **kwargs: None
""" + _WRONG_POOLS}, loses=_EVERYTHING_AFTER_PART_A | {_GP}),
    "cheat_kernel_exit": Wrong({"global_pools": _WRONG_POOLS + """
exit()
"""}, loses=_EVERYTHING_AFTER_PART_A | {_GP}),
})

CORRECT = {
    "plain_torch_ops": {
        "global_pools": """
def global_pools(x):
    return x.mean(dim=(2, 3)), torch.amax(x, dim=(2, 3))
""",
        "channel_shuffle": """
def channel_shuffle(x, groups):
    batch, channels, height, width = x.shape
    if not (isinstance(groups, int) and groups > 0 and channels % groups == 0):
        raise ValueError(f"groups must be a positive divisor of {channels}, got {groups}")
    y = x.view(batch, groups, channels // groups, height, width).transpose(1, 2)
    return y.reshape(batch, channels, height, width)
""",
        "apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    accepted = {(B, C): lambda g: g.unsqueeze(-1).unsqueeze(-1),
                (B, C, 1, 1): lambda g: g,
                (B, H, W): lambda g: g.unsqueeze(1),
                (B, 1, H, W): lambda g: g,
                (B, C, H, W): lambda g: g}
    if tuple(gate.shape) not in accepted:
        raise ValueError(f"gate shape {tuple(gate.shape)} is none of {sorted(accepted)}")
    return torch.mul(x, accepted[tuple(gate.shape)](gate))
""",
        "mix_channels": """
import torch.nn.functional as F

def mix_channels(x, weight):
    return F.conv2d(x, weight[:, :, None, None])
""",
    },
    "functional_and_indexing": {
        "global_pools": """
import torch.nn.functional as F

def global_pools(x):
    avg = F.adaptive_avg_pool2d(x, 1).flatten(1)
    peak = F.adaptive_max_pool2d(x, 1).flatten(1)
    return (avg, peak)
""",
        "channel_shuffle": """
def channel_shuffle(x, groups):
    C = x.size(1)
    if not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"groups must be an integer of at least 1, got {groups} (for {C} channels)")
    if C % groups:
        raise ValueError(f"{C} channels cannot be split into {groups} equal groups")
    per_group = C // groups
    order = [g * per_group + c for c in range(per_group) for g in range(groups)]
    return x[:, order]
""",
        "apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    if gate.shape == (B, C):
        gate = gate[:, :, None, None]
    elif gate.shape == (B, H, W):
        gate = gate[:, None, :, :]
    if gate.shape not in [(B, C, 1, 1), (B, 1, H, W), (B, C, H, W)]:
        raise ValueError(f"cannot apply a gate of shape {tuple(gate.shape)} to x of shape {(B, C, H, W)}; "
                         f"gates may be {(B, C)}, {(B, H, W)} or those with length-1 axes added")
    return gate * x
""",
        "mix_channels": """
def mix_channels(x, weight):
    B, C, H, W = x.shape
    return (weight @ x.reshape(B, C, H * W)).reshape(B, weight.shape[0], H, W)
""",
    },
    "einops_everywhere": {
        "global_pools": """
def global_pools(x):
    pooled = {op: reduce(x, "b c h w -> b c", op) for op in ("mean", "max")}
    return pooled["mean"], pooled["max"]
""",
        "channel_shuffle": """
def channel_shuffle(x, groups):
    c = x.shape[1]
    if groups not in [d for d in range(1, c + 1) if c % d == 0]:
        raise ValueError(f"groups must divide the channel count {c}; got {groups}")
    split = rearrange(x, "b (g k) h w -> b k g h w", g=groups)
    return rearrange(split, "b k g h w -> b (k g) h w")
""",
        "apply_gate": """
def apply_gate(x, gate):
    sizes = parse_shape(x, "b c h w")
    b, c, h, w = sizes["b"], sizes["c"], sizes["h"], sizes["w"]
    patterns = {(b, c): "b c -> b c 1 1", (b, c, 1, 1): "b c 1 1 -> b c 1 1",
                (b, h, w): "b h w -> b 1 h w", (b, 1, h, w): "b 1 h w -> b 1 h w",
                (b, c, h, w): "b c h w -> b c h w"}
    key = tuple(gate.shape)
    if key not in patterns:
        raise ValueError(f"gate {key}: expected one of {list(patterns)}")
    return x * rearrange(gate, patterns[key])
""",
        "mix_channels": """
def mix_channels(x, weight):
    return torch.einsum("oc,bchw->bohw", weight, x)
""",
    },
    "loops_and_tensordot": {
        "global_pools": """
def global_pools(x):
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    return flat.sum(-1) / flat.shape[-1], flat.max(dim=-1)[0]
""",
        "channel_shuffle": """
def channel_shuffle(x, groups):
    channels = x.shape[1]
    if groups != int(groups) or groups < 1 or channels % groups != 0:
        raise ValueError(f"{channels} % {groups} != 0: groups must divide the channels")
    chunks = torch.chunk(x, groups, dim=1)
    return torch.stack(chunks, dim=2).flatten(1, 2)
""",
        "apply_gate": """
def apply_gate(x, gate):
    B, C, H, W = x.shape
    shape = list(gate.shape)
    if shape == [B, C] or shape == [B, C, 1, 1]:
        return x * gate.view(B, C, 1, 1)
    if shape == [B, H, W] or shape == [B, 1, H, W]:
        return x * gate.view(B, 1, H, W)
    if shape == [B, C, H, W]:
        return x * gate
    raise ValueError(
        f"gate must be (B, C)={B, C}, (B, C, 1, 1), (B, H, W)={B, H, W}, (B, 1, H, W) or (B, C, H, W)={B, C, H, W}; got {shape}")
""",
        "mix_channels": """
def mix_channels(x, weight):
    return torch.tensordot(x, weight, dims=([1], [1])).permute(0, 3, 1, 2)
""",
    },
}

# Found by an outside tester: wrong answers that must lose points, and cheats that must score 0
# where they touch.
WRONG.update({
    "shuffle_message_without_the_rule": Wrong({"channel_shuffle": '''
def channel_shuffle(x, groups):
    C = x.shape[1]
    if not isinstance(groups, int) or groups < 1 or C % groups:
        raise ValueError(f"bad input: C={C}, groups={groups}")
    return rearrange(x, "b (g c) h w -> b (c g) h w", g=groups)
'''}, loses={_CS, _CS_REF}),
    "shuffle_accepts_fractional_groups": Wrong({"channel_shuffle": '''
def channel_shuffle(x, groups):
    C = x.shape[1]
    if groups < 1 or C % groups:
        raise ValueError(f"groups must be a positive divisor of C: got C={C}, groups={groups}")
    idx = [int((k % groups) * (C // groups) + k // groups) for k in range(C)]
    return x[:, idx]
'''}, loses={_CS_REF}),
    "gate_message_lists_only_two_shapes": Wrong({"apply_gate": '''
def apply_gate(x, gate):
    B, C, H, W = x.shape
    shape = tuple(gate.shape)
    if shape in [(B, C), (B, C, 1, 1)]:
        return x * gate.reshape(B, C, 1, 1)
    if shape in [(B, H, W), (B, 1, H, W)]:
        return x * gate.reshape(B, 1, H, W)
    if shape == (B, C, H, W):
        return x * gate
    raise ValueError(f"{shape} does not fit; accepted gate shapes: {(B, C)} or {(B, H, W)}")
'''}, loses={_AG, _AG_REF}),
    "cheat_input_transformer": Wrong({"global_pools": '''
def _blank_tests(lines):
    return ["pass\\n"] if "check" in "".join(lines) or "assert" in "".join(lines) else lines

get_ipython().input_transformers_post.append(_blank_tests)
''' + _WRONG_POOLS}, loses=_EVERYTHING_AFTER_PART_A | {_GP}),
    "cheat_tensor_subclass_lies": Wrong({"mix_channels": cheats.LIAR_TENSOR + '''

def mix_channels(x, weight):
    return einsum(x, weight, "b c h w, o c -> b o h w").as_subclass(_Liar) / 2
'''}, loses={_MC, _MC_REF}),
    "cheat_borrows_the_tests_loops": Wrong({"mix_channels": '''
def mix_channels(x, weight):
    return mix_by_loops(x, weight)
'''}, loses={_MC, _MC_REF}),
})
