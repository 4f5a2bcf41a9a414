"""Submissions for 10_criss_cross that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch). CORRECT cases are written differently from the solution and must keep
full marks.

CrissCrossAttention calls the student's own ``criss_cross_affinities``, so a wrong affinity also
costs the module's tests wherever it shows (the own-slot check of ``affinities``, the outputs).
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "10_criss_cross"

# --------------------------------------------------------------------------------- the affinities
_AFF_HEAD = '''
def criss_cross_affinities(query, key):
    if query.dim() != 4 or query.shape != key.shape:
        raise ValueError(f"query {tuple(query.shape)} and key {tuple(key.shape)} must have the same 4-D shape")
    H, W = query.shape[2], query.shape[3]
'''
_SCORES = '''    col = torch.einsum("bchw,bckw->bhwk", query, key)
    row = torch.einsum("bchw,bchl->bhwl", query, key)
'''
_MASK = '''    col = col.masked_fill(torch.eye(H, dtype=torch.bool, device=query.device)[:, None, :], float("-inf"))
'''
_SOFTMAX = '''    return torch.softmax(torch.cat([col, row], dim=-1), dim=-1)
'''


def _aff(scores: str = _SCORES, mask: str = _MASK, softmax: str = _SOFTMAX, head: str = _AFF_HEAD) -> str:
    return head + scores + mask + softmax


# --------------------------------------------------------------------------------- the module
_CCA_CHECKS = '''
class CrissCrossAttention(nn.Module):
    def __init__(self, channels, *, reduction=8, recurrence=1):
        super().__init__()
        for name, value in (("channels", channels), ("reduction", reduction), ("recurrence", recurrence)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {name}={value!r}")
        if channels // reduction < 1:
            raise ValueError(f"reduction={reduction} is larger than channels={channels}: no query channel is left")
        self.channels, self.recurrence = channels, recurrence
'''
_LAYERS = '''        self.query = nn.Conv2d(channels, channels // reduction, 1)
        self.key = nn.Conv2d(channels, channels // reduction, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
'''
_INPUT_CHECK = '''
    def _check(self, x):
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected x of shape (B, {self.channels}, H, W), got {tuple(x.shape)}")
'''
_METHODS = '''
    def affinities(self, x):
        self._check(x)
        return criss_cross_affinities(self.query(x), self.key(x))

    def forward(self, x):
        self._check(x)
'''
_LOOP = '''        for _ in range(self.recurrence):
            x = self._pass(x)
        return x
'''
_PASS = '''
    def _pass(self, x):
        H = x.shape[2]
        A = criss_cross_affinities(self.query(x), self.key(x))
        V = self.value(x)
'''
_AGGREGATE = '''        out = torch.einsum("bhwk,bckw->bchw", A[..., :H], V) + torch.einsum("bhwl,bchl->bchw", A[..., H:], V)
        return self.gamma * out + x
'''


def _cca(checks: str = _CCA_CHECKS, layers: str = _LAYERS, input_check: str = _INPUT_CHECK, loop: str = _LOOP,
         one_pass: str = _PASS, aggregate: str = _AGGREGATE) -> str:
    return checks + layers + input_check + _METHODS + loop + one_pass + aggregate


# --------------------------------------------------------------------------------- influence
_INFLUENCE_HEAD = '''
def influence(module, channels, height, width):
    first = next(module.parameters(), None)
    dtype = first.dtype if first is not None else torch.float32
    x = torch.randn(1, channels, height, width, dtype=dtype, requires_grad=True)
    out = module(x)
'''
_MIX = '''    mix = torch.randn(out.shape[1], dtype=out.dtype)
'''
_LOOP_GRADS = '''    reach = torch.zeros(height, width, height, width, dtype=torch.bool)
    for h in range(height):
        for w in range(width):
            (g,) = torch.autograd.grad(out[0, :, h, w], x, grad_outputs=mix, retain_graph=True)
            reach[h, w] = {test}
    return reach
'''


def _influence(mix: str = _MIX, test: str = "(g[0] != 0).any(dim=0)", head: str = _INFLUENCE_HEAD) -> str:
    return head + mix + _LOOP_GRADS.format(test=test)


_AFF_CELLS = {"test_affinities_behaviour", "test_affinities_values"}
_CCA_ALL = {"test_cca_structure", "test_cca_behaviour", "test_cca_reference"}
_INFLUENCE = {"test_influence"}

WRONG = {
    # ---- Part A: the affinities
    "aff_pixel_counted_twice": Wrong({"criss_cross_affinities": _aff(mask="")},
                                     loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "aff_row_branch_masked": Wrong({"criss_cross_affinities": _aff(mask='''    row = row.masked_fill(torch.eye(W, dtype=torch.bool, device=query.device), float("-inf"))
''')}, loses=_AFF_CELLS | {"test_cca_behaviour"}),
    "aff_one_softmax_per_branch_halved": Wrong({"criss_cross_affinities": _aff(softmax='''    return 0.5 * torch.cat([torch.softmax(col, dim=-1), torch.softmax(row, dim=-1)], dim=-1)
''')}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "aff_softmax_over_the_rows": Wrong({"criss_cross_affinities": _aff(softmax='''    return torch.softmax(torch.cat([col, row], dim=-1), dim=1)
''')}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "aff_row_before_column": Wrong({"criss_cross_affinities": _aff(softmax='''    return torch.softmax(torch.cat([row, col], dim=-1), dim=-1)
''')}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "aff_scaled_like_a_transformer": Wrong({"criss_cross_affinities": _aff(softmax='''    scale = query.shape[1] ** -0.5
    return torch.softmax(torch.cat([col, row], dim=-1) * scale, dim=-1)
''')}, loses={"test_affinities_values", "test_cca_reference"}),
    "aff_query_and_key_swapped": Wrong({"criss_cross_affinities": _aff(scores='''    col = torch.einsum("bchw,bckw->bhwk", key, query)
    row = torch.einsum("bchw,bchl->bhwl", key, query)
''')}, loses=_AFF_CELLS | {"test_cca_reference"}),
    "aff_squeezes_the_batch": Wrong({"criss_cross_affinities": _aff(softmax='''    return torch.softmax(torch.cat([col, row], dim=-1), dim=-1).squeeze()
''')}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "aff_no_shape_check": Wrong({"criss_cross_affinities": _aff(head='''
def criss_cross_affinities(query, key):
    H, W = query.shape[2], query.shape[3]
''')}, loses={"test_affinities_behaviour"}),
    # ---- Part B: the module
    "cca_gamma_starts_at_one": Wrong({"criss_cross_attention": _cca(layers=_LAYERS.replace("torch.zeros(1)", "torch.ones(1)"))},
                                     loses={"test_cca_structure", "test_cca_behaviour"}),
    "cca_without_gamma": Wrong({"criss_cross_attention": _cca(
        layers=_LAYERS.replace("        self.gamma = nn.Parameter(torch.zeros(1))\n", ""),
        aggregate=_AGGREGATE.replace("self.gamma * out + x", "out + x"))}, loses=_CCA_ALL),
    "cca_no_residual": Wrong({"criss_cross_attention": _cca(aggregate=_AGGREGATE.replace("self.gamma * out + x", "self.gamma * out"))},
                             loses={"test_cca_behaviour", "test_cca_reference"}),
    "cca_reduction_ignored": Wrong({"criss_cross_attention": _cca(layers=_LAYERS.replace("channels // reduction", "channels // 8"))},
                                   loses={"test_cca_structure", "test_cca_reference"}),
    "cca_new_weights_for_each_pass": Wrong({"criss_cross_attention": _cca(layers=_LAYERS + '''        self.later = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(channels, channels // reduction, 1), nn.Conv2d(channels, channels // reduction, 1),
                           nn.Conv2d(channels, channels, 1)]) for _ in range(recurrence - 1))
''', loop='''        for i in range(self.recurrence):
            x = self._pass(x, i)
        return x
''', one_pass='''
    def _pass(self, x, i):
        H = x.shape[2]
        q, k, v = (self.query, self.key, self.value) if i == 0 else self.later[i - 1]
        A = criss_cross_affinities(q(x), k(x))
        V = v(x)
''')}, loses={"test_cca_structure", "test_cca_reference"}),
    "cca_recurrence_ignored": Wrong({"criss_cross_attention": _cca(loop='''        return self._pass(x)
''')}, loses={"test_cca_reference"}),
    "cca_weights_computed_once": Wrong({"criss_cross_attention": _cca(loop='''        H = x.shape[2]
        A = criss_cross_affinities(self.query(x), self.key(x))
        for _ in range(self.recurrence):
            V = self.value(x)
            out = torch.einsum("bhwk,bckw->bchw", A[..., :H], V) + torch.einsum("bhwl,bchl->bchw", A[..., H:], V)
            x = self.gamma * out + x
        return x
''')}, loses={"test_cca_reference"}),
    "cca_accepts_a_bool": Wrong({"criss_cross_attention": _cca(checks=_CCA_CHECKS.replace(
        "isinstance(value, bool) or not isinstance(value, int)", "not isinstance(value, int)"))},
        loses={"test_cca_structure"}),
    "cca_no_input_check": Wrong({"criss_cross_attention": _cca(input_check='''
    def _check(self, x):
        pass
''')}, loses={"test_cca_behaviour"}),
    # ---- Part C: influence
    "influence_transposed": Wrong({"influence": _influence().replace("    return reach\n", "    return reach.permute(2, 3, 0, 1).contiguous()\n")},
                                  loses=_INFLUENCE),
    "influence_channels_summed": Wrong({"influence": _influence(mix="    mix = torch.ones(out.shape[1], dtype=out.dtype)\n")},
                                       loses=_INFLUENCE),
    "influence_first_output_channel_only": Wrong({"influence": _influence(mix='''    mix = torch.zeros(out.shape[1], dtype=out.dtype)
    mix[0] = 1.0
''')}, loses=_INFLUENCE),
    "influence_positive_gradients_only": Wrong({"influence": _influence(test="(g[0] > 0).any(dim=0)")}, loses=_INFLUENCE),
    "influence_input_always_float32": Wrong({"influence": _influence(head=_INFLUENCE_HEAD.replace("dtype=dtype", "dtype=torch.float32"))},
                                            loses=_INFLUENCE),
    "influence_one_backward_for_all_pixels": Wrong({"influence": _INFLUENCE_HEAD + '''    (g,) = torch.autograd.grad((out * torch.randn_like(out)).sum(), x)
    seen = (g[0] != 0).any(dim=0)
    return seen.expand(height, width, height, width).clone()
'''}, loses=_INFLUENCE),
    # ---- cheating: the answer key imported, subclassed, wrapped or built by the factory
    "cheat_import_reference": Wrong({"criss_cross_attention": """
from attn_course.modules import CrissCrossAttention
"""}, loses=_CCA_ALL),
    "cheat_subclass_reference": Wrong({"criss_cross_attention": """
from attn_course.modules import criss_cross as _reference

class CrissCrossAttention(_reference.CrissCrossAttention):
    pass
"""}, loses=_CCA_ALL),
    "cheat_create_attention": Wrong({"criss_cross_attention": """
from attn_course import create_attention

def CrissCrossAttention(channels, **options):
    return create_attention("criss_cross", channels, **options)
"""}, loses=_CCA_ALL),
    "cheat_wrap_reference": Wrong({"criss_cross_attention": """
import attn_course.modules

class CrissCrossAttention(nn.Module):
    def __init__(self, channels, **options):
        super().__init__()
        inner = attn_course.modules.CrissCrossAttention(channels, **options)
        self.query, self.key, self.value, self.gamma = inner.query, inner.key, inner.value, inner.gamma
        object.__setattr__(self, "inner", [inner])

    def affinities(self, x):
        return self.inner[0].affinities(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_CCA_ALL),
    "cheat_reference_through_a_closure": Wrong({"criss_cross_attention": '''
from attn_course import create_attention as _ca

def _make(channels, options):
    ref = _ca("criss_cross", channels, **options)
    return ref, (lambda self, x: type(ref).forward(self, x)), (lambda self, x: type(ref).affinities(self, x))

class CrissCrossAttention(nn.Module):
    def __init__(self, channels, **options):
        super().__init__()
        ref, self._forward, self._weights = _make(channels, options)
        self.query, self.key, self.value, self.gamma = ref.query, ref.key, ref.value, ref.gamma
        self.channels, self.reduction, self.recurrence = ref.channels, ref.reduction, ref.recurrence

    def affinities(self, x):
        return self._weights(self, x)

    def forward(self, x):
        return self._forward(self, x)
'''}, loses=_CCA_ALL),
    # The module that calls this function runs the reference's code too, so it loses its points as well
    # (not its structure part, whose tests never call the affinities).
    "cheat_reference_attention_for_the_affinities": Wrong({"criss_cross_affinities": '''
from attn_course.modules.criss_cross import CrissCrossAttention as _Reference

def criss_cross_affinities(query, key):
    if query.dim() != 4 or query.shape != key.shape:
        raise ValueError(f"query {tuple(query.shape)} and key {tuple(key.shape)} must have the same 4-D shape")
    return _Reference._attention(query, key)
'''}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
    "cheat_tensor_subclass_lies": Wrong({"criss_cross_affinities": cheats.LIAR_TENSOR + _aff(mask="", softmax='''    return torch.softmax(torch.cat([col, row], dim=-1), dim=-1).as_subclass(_Liar)
''')}, loses=_AFF_CELLS | {"test_cca_behaviour", "test_cca_reference"}),
}

CORRECT = {
    "bmm_linear_layers_and_perturbation": {"criss_cross_affinities": '''
def criss_cross_affinities(query, key):
    if query.ndim != 4 or tuple(query.shape) != tuple(key.shape):
        raise ValueError(f"shapes differ or are not (B, C', H, W): query {tuple(query.shape)}, key {tuple(key.shape)}")
    B, C, H, W = query.shape
    # columns: one (H x C') @ (C' x H) product per image and column
    q_col = query.permute(0, 3, 2, 1).reshape(B * W, H, C)
    k_col = key.permute(0, 3, 1, 2).reshape(B * W, C, H)
    col = torch.bmm(q_col, k_col).reshape(B, W, H, H).permute(0, 2, 1, 3)
    # rows: one (W x C') @ (C' x W) product per image and row
    q_row = query.permute(0, 2, 3, 1).reshape(B * H, W, C)
    k_row = key.permute(0, 2, 1, 3).reshape(B * H, C, W)
    row = torch.bmm(q_row, k_row).reshape(B, H, W, W)
    diagonal = torch.arange(H, device=query.device)
    blocked = (diagonal[:, None, None] == diagonal[None, None, :])
    col = torch.where(blocked, torch.full_like(col, float("-inf")), col)
    return F.softmax(torch.cat((col, row), dim=3), dim=3)
''', "criss_cross_attention": '''
class CrissCrossAttention(nn.Module):
    def __init__(self, channels: int, *, reduction: int = 8, recurrence: int = 1):
        super().__init__()
        for label, v in dict(channels=channels, reduction=reduction, recurrence=recurrence).items():
            if type(v) is not int or v <= 0:
                raise ValueError(f"CrissCrossAttention: {label}={v!r} must be a positive integer")
        inner = channels // reduction
        if inner == 0:
            raise ValueError(f"CrissCrossAttention: channels={channels} // reduction={reduction} is 0, "
                             f"so reduction must be at most {channels}")
        self.channels, self.recurrence = channels, recurrence
        self.query = nn.Linear(channels, inner)
        self.key = nn.Linear(channels, inner)
        self.value = nn.Linear(channels, channels)
        self.gamma = nn.Parameter(torch.zeros(1))

    def _project(self, layer, x):
        return rearrange(layer(rearrange(x, "b c h w -> b h w c")), "b h w c -> b c h w")

    def _validate(self, x):
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"CrissCrossAttention({self.channels}) got an input of shape {tuple(x.shape)}; "
                             f"it needs (B, {self.channels}, H, W)")

    def affinities(self, x):
        self._validate(x)
        return criss_cross_affinities(self._project(self.query, x), self._project(self.key, x))

    def forward(self, x):
        self._validate(x)
        y = x
        for _ in range(self.recurrence):
            B, C, H, W = y.shape
            A = criss_cross_affinities(self._project(self.query, y), self._project(self.key, y))
            v = self._project(self.value, y)
            col = torch.bmm(v.permute(0, 3, 1, 2).reshape(B * W, C, H),
                            A[..., :H].permute(0, 2, 3, 1).reshape(B * W, H, H)).reshape(B, W, C, H).permute(0, 2, 3, 1)
            row = torch.bmm(v.permute(0, 2, 1, 3).reshape(B * H, C, W),
                            A[..., H:].permute(0, 1, 3, 2).reshape(B * H, W, W)).reshape(B, H, C, W).permute(0, 2, 1, 3)
            y = y + self.gamma * (col + row)
        return y
''', "influence": '''
def influence(module, channels, height, width):
    params = list(module.parameters())
    dtype = params[0].dtype if params else torch.float32
    with torch.no_grad():
        base_input = torch.randn(1, channels, height, width, dtype=dtype)
        base = module(base_input)
        reach = torch.zeros(height, width, height, width, dtype=torch.bool)
        nudge = (torch.rand(channels, dtype=dtype) + 1.0).reshape(channels, 1)
        for i in range(height):
            for j in range(width):
                moved = base_input.clone()
                moved[0, :, i, j] += nudge[:, 0]
                changed = (module(moved) != base)[0].any(dim=0)       # (H, W): outputs that moved
                reach[:, :, i, j] = changed
    return reach
'''},
    "where_mask_jacobian_and_recursion": {"criss_cross_affinities": '''
def criss_cross_affinities(query, key):
    if len(query.shape) != 4 or len(key.shape) != 4 or query.shape != key.shape:
        raise ValueError(f"need query and key both (B, C', H, W) and equal: {list(query.shape)} vs {list(key.shape)}")
    H = query.shape[-2]
    col = (query.unsqueeze(-1) * key.permute(0, 1, 3, 2).unsqueeze(2)).sum(dim=1)     # (B, H, W, H)
    row = (query.unsqueeze(-1) * key.unsqueeze(3)).sum(dim=1)                           # (B, H, W, W)
    same = torch.eye(H, device=query.device).bool().reshape(H, 1, H)
    col = torch.where(same, torch.tensor(float("-inf"), dtype=col.dtype, device=col.device), col)
    scores = torch.cat([col, row], dim=-1)
    scores = scores - scores.amax(dim=-1, keepdim=True)
    e = scores.exp()
    return e / e.sum(dim=-1, keepdim=True)
''', "criss_cross_attention": '''
class CrissCrossAttention(nn.Module):
    def __init__(self, channels, *, reduction=8, recurrence=1):
        super().__init__()
        for label in ("channels", "reduction", "recurrence"):
            v = locals()[label]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {label}={v!r}")
        if reduction > channels:
            raise ValueError(f"reduction={reduction} must be at most channels={channels} (else C // r = 0)")
        self.channels, self.recurrence = channels, recurrence
        self.gamma = nn.Parameter(torch.zeros(1))
        self.value = nn.Conv2d(channels, channels, kernel_size=1, bias=True)
        self.key = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.query = nn.Conv2d(channels, channels // reduction, kernel_size=1)

    def affinities(self, x):
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ValueError(f"want {self.channels} channels in a 4-D input, got shape {tuple(x.shape)}")
        return criss_cross_affinities(self.query(x), self.key(x))

    def forward(self, x, passes=None):
        A = self.affinities(x)
        passes = self.recurrence if passes is None else passes
        H = x.shape[2]
        v = F.conv2d(x, self.value.weight, self.value.bias)
        col_part, row_part = A.split([H, A.shape[-1] - H], dim=-1)
        gathered = torch.einsum("bhwk,bckw->bchw", col_part, v) + torch.einsum("bhwl,bchl->bchw", row_part, v)
        y = x + gathered * self.gamma
        return y if passes == 1 else self.forward(y, passes - 1)
''', "influence": '''
def influence(module, channels, height, width):
    p = next(iter(module.parameters()), None)
    x = torch.randn(1, channels, height, width, dtype=torch.float32 if p is None else p.dtype)
    jac = torch.autograd.functional.jacobian(module, x)                 # (1, Co, H, W, 1, C, H, W)
    return (jac != 0).any(dim=4).any(dim=0).any(dim=0).any(dim=-3).cpu()
'''},
    "log_softmax_and_per_channel_gradients": {"criss_cross_affinities": '''
def criss_cross_affinities(query, key):
    if query.dim() != 4:
        raise ValueError(f"query must be (B, C', H, W), got {tuple(query.shape)} (key {tuple(key.shape)})")
    if key.shape != query.shape:
        raise ValueError(f"key {tuple(key.shape)} must have the shape of query {tuple(query.shape)}")
    B, C, H, W = query.shape
    col = rearrange(torch.einsum("bchw,bckw->bwhk", query, key), "b w h k -> b h w k")
    row = torch.einsum("bchw,bchl->bhwl", query, key)
    inf_diag = torch.zeros(H, H, dtype=query.dtype, device=query.device)
    inf_diag.fill_diagonal_(float("-inf"))
    col = col + inf_diag[:, None, :]
    return torch.log_softmax(torch.cat([col, row], dim=-1), dim=-1).exp()
''', "criss_cross_attention": '''
class CrissCrossAttention(nn.Module):
    """Query and key as Linear layers, value as a 1x1 conv: the docstring allows either."""

    def __init__(self, channels, *, reduction=8, recurrence=1):
        super().__init__()
        checks_ = {"channels": channels, "reduction": reduction, "recurrence": recurrence}
        for label, v in checks_.items():
            if type(v) != int:
                raise ValueError(f"{label} must be an integer, got {label}={v!r}")
            if v < 1:
                raise ValueError(f"{label} must be at least 1, got {label}={v}")
        if channels < reduction:
            raise ValueError(f"channels={channels} is smaller than reduction={reduction}: no channel left")
        self.channels, self.recurrence = channels, recurrence
        self.query = nn.Linear(channels, channels // reduction)
        self.key = nn.Linear(channels, channels // reduction)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def _qk(self, x):
        flat = x.permute(0, 2, 3, 1)
        return self.query(flat).permute(0, 3, 1, 2), self.key(flat).permute(0, 3, 1, 2)

    def affinities(self, x):
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected (B, {self.channels}, H, W), got {tuple(x.shape)}")
        return criss_cross_affinities(*self._qk(x))

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected (B, {self.channels}, H, W), got {tuple(x.shape)}")
        out = x
        for step in range(self.recurrence):
            H, W = out.shape[2], out.shape[3]
            A = criss_cross_affinities(*self._qk(out))
            v = self.value(out)
            mixed = torch.zeros_like(out)
            mixed = mixed + torch.einsum("bhwk,bckw->bchw", A[..., :H], v)
            mixed = mixed + torch.einsum("bhwl,bchl->bchw", A[..., H:H + W], v)
            out = out + self.gamma * mixed
        return out
''', "influence": '''
def influence(module, channels, height, width):
    dtypes = [p.dtype for p in module.parameters()]
    x = torch.randn(1, channels, height, width, dtype=dtypes[0] if dtypes else torch.float32).requires_grad_()
    y = module(x)
    reach = torch.zeros(height * width, height * width, dtype=torch.bool)
    for c in range(y.shape[1]):
        for h in range(height):
            for w in range(width):
                g = torch.autograd.grad(y[0, c, h, w], x, retain_graph=True)[0]
                reach[h * width + w] |= (g[0] != 0).any(dim=0).flatten()
    return reach.reshape(height, width, height, width)
'''},
}
