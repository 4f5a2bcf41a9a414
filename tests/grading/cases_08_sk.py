"""Submissions for 08_sk that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch). CORRECT cases are written differently from the solution and must keep
full marks.

SKAttention calls the student's own ``sk_hidden_width``, so a wrong width also costs the SK tests
wherever the width shows (the parameter count, the shapes of fc and select).
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "08_sk"

# --------------------------------------------------------------------------------- sk_hidden_width
_WIDTH_CHECKS = '''
def sk_hidden_width(channels, reduction=16, min_hidden=32):
    for name, value in (("channels", channels), ("reduction", reduction), ("min_hidden", min_hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int of at least 1, got {name}={value!r}")
'''


def _width(body: str) -> str:
    return _WIDTH_CHECKS + body


# --------------------------------------------------------------------------------- receptive fields
_RF_CHECKS = '''
def receptive_field(kernel_size, dilation=1):
    for name, value in (("kernel_size", kernel_size), ("dilation", dilation)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int of at least 1, got {name}={value!r}")
'''


def _measure(body: str) -> str:
    return '''
def measure_receptive_field(conv):
''' + body


_IMPULSE = """    size = 51
    impulse = torch.zeros(1, conv.in_channels, size, size, dtype=conv.weight.dtype, device=conv.weight.device)
    impulse[:, :, 25, 25] = 1.0
"""

# --------------------------------------------------------------------------------- SKAttention
_SK_HEADER = '''
class SKAttention(nn.Module):
    """SK unit written by a student."""

    def __init__(self, channels, *, branches=2, reduction=16, min_hidden=32, groups=32, stride=1):
        super().__init__()
        for name, value in (("channels", channels), ("branches", branches), ("groups", groups), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {name}={value!r}")
        if channels % groups:
            raise ValueError(f"channels={channels} is not divisible by groups={groups}")
        hidden = sk_hidden_width(channels, reduction, min_hidden)
'''


def _branches(padding: str = "i + 1", dilation: str = "i + 1", groups: str = "groups",
              tail: str = ", nn.ReLU()") -> str:
    return f"""        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, stride=stride, padding={padding}, dilation={dilation},
                                    groups={groups}, bias=False), nn.BatchNorm2d(channels){tail})
            for i in range(branches))
"""


_LAYERS = """        self.fc = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc_bn = nn.BatchNorm2d(hidden)
        self.select = nn.ModuleList(nn.Conv2d(hidden, channels, 1, bias=False) for _ in range(branches))
"""
_SPLIT = """
    def split(self, x):
        return torch.stack([branch(x) for branch in self.branches], dim=1)
"""
_FUSE = "        s = U.sum(dim=1).mean(dim=(2, 3), keepdim=True)\n"
_SQUEEZE = "        z = torch.relu(self.fc_bn(self.fc(s)))\n"
_SOFTMAX = "        return torch.softmax(torch.stack([layer(z) for layer in self.select], dim=1), dim=1)\n"
_METHODS = """
    def selection_weights(self, x):
        return self.weights_from(self.split(x))

    def forward(self, x):
        U = self.split(x)
        return (self.weights_from(U) * U).sum(dim=1)
"""


def _sk(branches: str | None = None, layers: str = _LAYERS, fuse: str = _FUSE, squeeze: str = _SQUEEZE,
        softmax: str = _SOFTMAX, methods: str = _METHODS, header: str = _SK_HEADER) -> str:
    return (header + (branches or _branches()) + layers + _SPLIT + "\n    def weights_from(self, U):\n"
            + fuse + squeeze + softmax + methods)


_WIDTH = {"test_sk_hidden_width"}
_SK_ALL = {"test_sk_structure", "test_sk_behaviour", "test_sk_reference"}

WRONG = {
    # ---- Part A: the width d
    "width_without_the_floor": Wrong({"sk_hidden_width": _width("""    return channels // reduction
""")}, loses=_WIDTH | _SK_ALL),
    "width_min_instead_of_max": Wrong({"sk_hidden_width": _width("""    return min(channels // reduction, min_hidden)
""")}, loses=_WIDTH | _SK_ALL),
    "width_rounds_instead_of_flooring": Wrong({"sk_hidden_width": _width("""    return max(round(channels / reduction), min_hidden)
""")}, loses=_WIDTH),
    "width_accepts_a_bool": Wrong({"sk_hidden_width": '''
def sk_hidden_width(channels, reduction=16, min_hidden=32):
    for name, value in (("channels", channels), ("reduction", reduction), ("min_hidden", min_hidden)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int of at least 1, got {name}={value!r}")
    return max(channels // reduction, min_hidden)
'''}, loses=_WIDTH),
    "sk_ignores_the_floor": Wrong({"sk_attention": _sk(header=_SK_HEADER.replace(
        "hidden = sk_hidden_width(channels, reduction, min_hidden)",
        "sk_hidden_width(channels, reduction, min_hidden)\n        hidden = max(channels // reduction, 1)"))},
        loses=_SK_ALL),
    # ---- Part B: the receptive field, by formula
    "formula_kernel_times_dilation": Wrong({"receptive_field": _RF_CHECKS + """    return kernel_size * dilation
"""}, loses={"test_receptive_field"}),
    "formula_without_the_plus_one": Wrong({"receptive_field": _RF_CHECKS + """    return dilation * (kernel_size - 1)
"""}, loses={"test_receptive_field"}),
    "formula_kernel_plus_dilation": Wrong({"receptive_field": _RF_CHECKS + """    return kernel_size + dilation - 1
"""}, loses={"test_receptive_field"}),
    # ---- Part B: the receptive field, by experiment
    "measure_counts_changed_rows": Wrong({"measure_receptive_field": _measure(_IMPULSE + """    with torch.no_grad():
        response = (conv(impulse) - conv(torch.zeros_like(impulse))).abs().sum(dim=(0, 1))
    return int((response.sum(dim=1) > 0).sum()), int((response.sum(dim=0) > 0).sum())
""")}, loses={"test_measure_receptive_field"}),
    "measure_computes_instead_of_measuring": Wrong({"measure_receptive_field": _measure("""    (kh, kw), (dh, dw) = conv.kernel_size, conv.dilation
    return dh * (kh - 1) + 1, dw * (kw - 1) + 1
""")}, loses={"test_measure_receptive_field"}),
    "measure_keeps_the_bias": Wrong({"measure_receptive_field": _measure(_IMPULSE + """    with torch.no_grad():
        changed = conv(impulse).abs().sum(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(changed.any(dim=1)).flatten(), torch.nonzero(changed.any(dim=0)).flatten()
    if rows.numel() == 0:
        return (0, 0)
    return int(rows[-1] - rows[0]) + 1, int(cols[-1] - cols[0]) + 1
""")}, loses={"test_measure_receptive_field"}),
    "measure_on_a_map_too_small": Wrong({"measure_receptive_field": _measure("""    size = 11
    impulse = torch.zeros(1, conv.in_channels, size, size, dtype=conv.weight.dtype)
    impulse[:, :, 5, 5] = 1.0
    with torch.no_grad():
        changed = (conv(impulse) - conv(torch.zeros_like(impulse))).abs().sum(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(changed.any(dim=1)).flatten(), torch.nonzero(changed.any(dim=0)).flatten()
    if rows.numel() == 0:
        return (0, 0)
    return int(rows[-1] - rows[0]) + 1, int(cols[-1] - cols[0]) + 1
""")}, loses={"test_measure_receptive_field"}),
    # ---- Part C: the SK unit
    "softmax_over_the_channels": Wrong({"sk_attention": _sk(
        softmax="        return torch.softmax(torch.stack([layer(z) for layer in self.select], dim=1), dim=2)\n")},
        loses={"test_sk_behaviour", "test_sk_reference"}),
    "sigmoid_instead_of_softmax": Wrong({"sk_attention": _sk(
        softmax="        return torch.sigmoid(torch.stack([layer(z) for layer in self.select], dim=1))\n")},
        loses={"test_sk_behaviour", "test_sk_reference"}),
    "no_batchnorm_in_the_squeeze": Wrong({"sk_attention": _sk(layers="""        self.fc = nn.Conv2d(channels, hidden, 1, bias=False)
        self.select = nn.ModuleList(nn.Conv2d(hidden, channels, 1, bias=False) for _ in range(branches))
""", squeeze="        z = torch.relu(self.fc(s))\n")}, loses=_SK_ALL),
    "squeeze_batchnorm_never_applied": Wrong({"sk_attention": _sk(squeeze="        z = torch.relu(self.fc(s))\n")},
                                             loses={"test_sk_behaviour", "test_sk_reference"}),
    "squeeze_batchnorm_always_in_eval_mode": Wrong({"sk_attention": _sk(squeeze="""        bn = self.fc_bn
        z = torch.relu(F.batch_norm(self.fc(s), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                    training=False, eps=bn.eps))
""")}, loses={"test_sk_reference"}),
    "missing_relu_in_the_squeeze": Wrong({"sk_attention": _sk(squeeze="        z = self.fc_bn(self.fc(s))\n")},
                                         loses={"test_sk_reference"}),
    "missing_relu_in_the_branches": Wrong({"sk_attention": _sk(branches=_branches(tail=""))},
                                          loses={"test_sk_reference"}),
    "dilation_one_in_both_branches": Wrong({"sk_attention": _sk(branches=_branches(padding="1", dilation="1"))},
                                           loses={"test_sk_structure", "test_sk_reference"}),
    "padding_one_for_the_dilated_branch": Wrong({"sk_attention": _sk(branches=_branches(padding="1"))},
                                                loses=_SK_ALL),
    "branch_convolutions_without_groups": Wrong({"sk_attention": _sk(branches=_branches(groups="1"))},
                                                loses={"test_sk_structure", "test_sk_reference"}),
    "fuse_by_concatenation": Wrong({"sk_attention": _sk(layers="""        self.fc = nn.Conv2d(branches * channels, hidden, 1, bias=False)
        self.fc_bn = nn.BatchNorm2d(hidden)
        self.select = nn.ModuleList(nn.Conv2d(hidden, channels, 1, bias=False) for _ in range(branches))
""", fuse="        s = U.flatten(1, 2).mean(dim=(2, 3), keepdim=True)\n")},
        loses={"test_sk_structure", "test_sk_reference"}),
    "fuse_by_mean": Wrong({"sk_attention": _sk(fuse="        s = U.mean(dim=1).mean(dim=(2, 3), keepdim=True)\n")},
                          loses={"test_sk_reference"}),
    "pools_the_first_branch_only": Wrong({"sk_attention": _sk(fuse="        s = U[:, 0].mean(dim=(2, 3), keepdim=True)\n")},
                                         loses={"test_sk_reference"}),
    "weights_applied_to_the_wrong_branch": Wrong({"sk_attention": _sk(methods="""
    def selection_weights(self, x):
        return self.weights_from(self.split(x))

    def forward(self, x):
        U = self.split(x)
        return (self.weights_from(U).flip(1) * U).sum(dim=1)
""")}, loses={"test_sk_behaviour", "test_sk_reference"}),
    "one_select_layer_shared_by_the_branches": Wrong({"sk_attention": _sk(layers="""        self.fc = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc_bn = nn.BatchNorm2d(hidden)
        shared = nn.Conv2d(hidden, channels, 1, bias=False)
        self.select = nn.ModuleList([shared] * branches)
""")}, loses=_SK_ALL),
    "squeeze_drops_the_batch_of_one": Wrong({"sk_attention": _sk(layers="""        self.fc = nn.Linear(channels, hidden, bias=False)
        self.fc_bn = nn.BatchNorm1d(hidden)
        self.select = nn.ModuleList(nn.Linear(hidden, channels, bias=False) for _ in range(branches))
""", fuse="        s = U.sum(dim=1).mean(dim=(2, 3), keepdim=True).squeeze()\n",
        softmax="        return torch.softmax(torch.stack([layer(z) for layer in self.select], dim=1), dim=1)[..., None, None]\n")},
        loses={"test_sk_behaviour", "test_sk_reference"}),
    "stride_ignored": Wrong({"sk_attention": _sk(branches="""        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=i + 1, dilation=i + 1, groups=groups, bias=False),
                          nn.BatchNorm2d(channels), nn.ReLU())
            for i in range(branches))
""")}, loses=_SK_ALL),
    "no_error_check_for_groups": Wrong({"sk_attention": _sk(header=_SK_HEADER.replace(
        """        if channels % groups:
            raise ValueError(f"channels={channels} is not divisible by groups={groups}")
""", ""))}, loses={"test_sk_structure"}),
    # ---- cheating: the answer key imported, subclassed, wrapped or built by the factory
    "cheat_import_reference": Wrong({"sk_attention": """
from attn_course.modules import SKAttention
"""}, loses=_SK_ALL),
    "cheat_subclass_reference": Wrong({"sk_attention": """
from attn_course.modules import sk as _reference

class SKAttention(_reference.SKAttention):
    pass
"""}, loses=_SK_ALL),
    "cheat_create_attention": Wrong({"sk_attention": """
from attn_course import create_attention

def SKAttention(channels, **options):
    return create_attention("sk", channels, **options)
"""}, loses=_SK_ALL),
    "cheat_wrap_reference": Wrong({"sk_attention": """
import attn_course.modules

class SKAttention(nn.Module):
    def __init__(self, channels, **options):
        super().__init__()
        inner = attn_course.modules.SKAttention(channels, **options)
        self.branches, self.fc, self.fc_bn, self.select = inner.branches, inner.fc, inner.fc_bn, inner.select
        object.__setattr__(self, "inner", [inner])

    def selection_weights(self, x):
        return self.inner[0].selection_weights(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_SK_ALL),
    "cheat_reference_through_a_closure": Wrong({"sk_attention": '''
from attn_course import create_attention as _ca

def _make(channels, options):
    ref = _ca("sk", channels, **options)
    return ref, (lambda self, x: type(ref).forward(self, x)), (lambda self, x: type(ref).selection_weights(self, x))

class SKAttention(nn.Module):
    def __init__(self, channels, **options):
        super().__init__()
        ref, self._forward, self._weights = _make(channels, options)
        self.branches, self.fc, self.fc_bn, self.select = ref.branches, ref.fc, ref.fc_bn, ref.select
        self.channels, self.num_branches = ref.channels, ref.num_branches

    def selection_weights(self, x):
        return self._weights(self, x)

    def forward(self, x):
        return self._forward(self, x)
'''}, loses=_SK_ALL),
    # The SKAttention that calls this width helper loses its structure part too: there the grader
    # watches the constructor refuse bad settings, and the refusal comes from the reference's code.
    "cheat_reference_helper_for_the_width": Wrong({"sk_hidden_width": '''
from attn_course.modules._validation import reduced_channels

def sk_hidden_width(channels, reduction=16, min_hidden=32):
    for name, value in (("channels", channels), ("min_hidden", min_hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int of at least 1, got {name}={value!r}")
    return reduced_channels(channels, reduction, module="sk_hidden_width", minimum=min_hidden)
'''}, loses=_WIDTH | {"test_sk_structure"}),
    "cheat_tensor_subclass_lies": Wrong({"sk_attention": cheats.LIAR_TENSOR + _sk(methods="""
    def selection_weights(self, x):
        return self.weights_from(self.split(x)).as_subclass(_Liar)

    def forward(self, x):
        U = self.split(x)
        return (self.weights_from(U).flip(1) * U).sum(dim=1).as_subclass(_Liar)
""")}, loses=_SK_ALL),
    "cheat_number_that_equals_anything": Wrong({"receptive_field": cheats.always_equal(
        "receptive_field(kernel_size, dilation=1)")}, loses={"test_receptive_field"}),
    "cheat_width_that_equals_anything": Wrong({"sk_hidden_width": cheats.always_equal(
        "_always_width(channels, reduction=16, min_hidden=32)") + '''

def sk_hidden_width(channels, reduction=16, min_hidden=32):
    if min_hidden == 32 and reduction == 16 and isinstance(channels, int) and channels >= 1:
        return max(channels // 16, 32)
    if isinstance(channels, int) and isinstance(reduction, int) and isinstance(min_hidden, int) and min(channels, reduction, min_hidden) >= 1:
        return _always_width(channels)
    raise ValueError(f"bad arguments: channels={channels!r}, reduction={reduction!r}, min_hidden={min_hidden!r} must be ints >= 1")
'''}, loses=_WIDTH | {"test_sk_structure", "test_sk_behaviour", "test_sk_reference"}),
}

CORRECT = {
    "linear_layers_einops_and_a_gradient_probe": {"sk_hidden_width": '''
def sk_hidden_width(channels: int, reduction: int = 16, min_hidden: int = 32) -> int:
    for name, value in {"channels": channels, "reduction": reduction, "min_hidden": min_hidden}.items():
        if type(value) is not int or value <= 0:
            raise ValueError(f"{name}={value!r}: must be a positive integer")
    d = channels // reduction
    if d < min_hidden:
        d = min_hidden
    return d
''', "receptive_field": '''
def receptive_field(kernel_size, dilation=1):
    if type(kernel_size) is not int or kernel_size < 1:
        raise ValueError(f"kernel_size={kernel_size!r} must be a positive integer")
    if type(dilation) is not int or dilation < 1:
        raise ValueError(f"dilation={dilation!r} must be a positive integer")
    return len(range(0, (kernel_size - 1) * dilation + 1))
''', "measure_receptive_field": '''
def measure_receptive_field(conv):
    """The input pixels that one output (in the middle) reads: the same extent, found by a gradient."""
    x = torch.zeros(1, conv.in_channels, 51, 51, dtype=conv.weight.dtype, device=conv.weight.device,
                    requires_grad=True)
    out = conv(x)
    middle = out[:, :, out.shape[2] // 2, out.shape[3] // 2].sum()
    (grad,) = torch.autograd.grad(middle, x)
    reached = reduce(grad.abs(), "b c h w -> h w", "sum") != 0
    rows = reached.any(dim=1).nonzero().flatten().tolist()
    cols = reached.any(dim=0).nonzero().flatten().tolist()
    if not rows:
        return 0, 0
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
''', "sk_attention": '''
class SKAttention(nn.Module):
    def __init__(self, channels: int, *, branches: int = 2, reduction: int = 16, min_hidden: int = 32,
                 groups: int = 32, stride: int = 1):
        super().__init__()
        for name, value in dict(channels=channels, branches=branches, groups=groups, stride=stride).items():
            if type(value) is not int or value < 1:
                raise ValueError(f"SKAttention: {name}={value!r} must be a positive integer")
        if channels % groups != 0:
            raise ValueError(f"SKAttention: {channels} channels cannot be split into {groups} groups (not divisible)")
        d = sk_hidden_width(channels, reduction=reduction, min_hidden=min_hidden)
        self.branches = nn.ModuleList()
        for i in range(branches):
            self.branches.append(nn.Sequential(
                nn.Conv2d(channels, channels, kernel_size=3, stride=stride, padding=(i + 1) * (3 - 1) // 2,
                          dilation=i + 1, groups=groups, bias=False),
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True)))
        self.fc = nn.Linear(channels, d, bias=False)
        self.fc_bn = nn.BatchNorm1d(d)
        self.select = nn.ModuleList([nn.Linear(d, channels, bias=False) for _ in range(branches)])

    def _parts(self, x):
        U = rearrange([b(x) for b in self.branches], "m b c h w -> b m c h w")
        s = reduce(U, "b m c h w -> b c", "sum") / (U.shape[-2] * U.shape[-1])
        z = F.relu(self.fc_bn(self.fc(s)))
        scores = rearrange([layer(z) for layer in self.select], "m b c -> b m c")
        return U, rearrange(scores.softmax(dim=1), "b m c -> b m c 1 1")

    def selection_weights(self, x):
        return self._parts(x)[1]

    def forward(self, x):
        U, a = self._parts(x)
        return reduce(U * a, "b m c h w -> b c h w", "sum")
'''},
    "functional_convs_and_a_manual_softmax": {"sk_hidden_width": '''
def sk_hidden_width(channels, reduction=16, min_hidden=32):
    args = dict(channels=channels, reduction=reduction, min_hidden=min_hidden)
    bad = [f"{k}={v!r}" for k, v in args.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad:
        raise ValueError("need whole numbers >= 1, got " + ", ".join(bad))
    return max(min_hidden, channels // reduction)
''', "receptive_field": '''
def receptive_field(kernel_size, dilation=1):
    if not (isinstance(kernel_size, int) and not isinstance(kernel_size, bool) and kernel_size >= 1):
        raise ValueError(f"kernel_size must be an integer >= 1, got {kernel_size!r}")
    if not (isinstance(dilation, int) and not isinstance(dilation, bool) and dilation >= 1):
        raise ValueError(f"dilation must be an integer >= 1, got {dilation!r}")
    taps = [i * dilation for i in range(kernel_size)]
    return taps[-1] - taps[0] + 1
''', "measure_receptive_field": '''
def measure_receptive_field(conv):
    n = 51
    like = dict(dtype=conv.weight.dtype, device=conv.weight.device)
    base = torch.zeros(1, conv.in_channels, n, n, **like)
    poked = base.clone()
    poked[0, :, n // 2, n // 2] = 1
    with torch.no_grad():
        diff = conv(poked) - conv(base)
    hit = torch.where(diff.abs().amax(dim=(0, 1)) > 0)
    if len(hit[0]) == 0:
        return (0, 0)
    return (int(hit[0].max() - hit[0].min() + 1), int(hit[1].max() - hit[1].min() + 1))
''', "sk_attention": '''
class SKAttention(nn.Module):
    def __init__(self, channels, *, branches=2, reduction=16, min_hidden=32, groups=32, stride=1):
        super().__init__()
        for name in ("channels", "branches", "groups", "stride"):
            value = locals()[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {name}={value!r}")
        if channels % groups:
            raise ValueError(f"groups={groups} must divide channels={channels}")
        hidden = sk_hidden_width(channels, reduction, min_hidden)
        self.stride, self.groups = stride, groups
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Conv2d(channels, channels, 3, stride, i + 1, i + 1, groups, bias=False),
                          nn.BatchNorm2d(channels), nn.ReLU())
            for i in range(branches)])
        self.fc = nn.Conv2d(channels, hidden, kernel_size=1, bias=False)
        self.fc_bn = nn.BatchNorm2d(hidden)
        self.select = nn.ModuleList([nn.Conv2d(hidden, channels, kernel_size=1, bias=False) for _ in range(branches)])

    def _branch(self, i, x):
        conv, bn = self.branches[i][0], self.branches[i][1]
        y = F.conv2d(x, conv.weight, stride=self.stride, padding=i + 1, dilation=i + 1, groups=self.groups)
        return F.relu(bn(y))

    def _weights(self, outs):
        total = outs[0]
        for u in outs[1:]:
            total = total + u
        s = F.adaptive_avg_pool2d(total, 1)
        z = F.relu(self.fc_bn(self.fc(s)))
        scores = torch.stack([layer(z) for layer in self.select])           # (M, B, C, 1, 1)
        e = torch.exp(scores - scores.max(dim=0, keepdim=True).values)
        return (e / e.sum(dim=0, keepdim=True)).transpose(0, 1)

    def selection_weights(self, x):
        return self._weights([self._branch(i, x) for i in range(len(self.branches))])

    def forward(self, x):
        outs = [self._branch(i, x) for i in range(len(self.branches))]
        a = self._weights(outs)
        return torch.einsum("bmchw,bmcij->bchw", torch.stack(outs, dim=1), a)
'''},
    "one_matmul_for_all_selects": {"sk_hidden_width": '''
def sk_hidden_width(channels, reduction=16, min_hidden=32):
    for label, v in zip(("channels", "reduction", "min_hidden"), (channels, reduction, min_hidden)):
        if type(v) != int:
            raise ValueError(f"{label} must be an integer, got {label}={v!r}")
        if v < 1:
            raise ValueError(f"{label} must be at least 1, got {label}={v}")
    return max(channels // reduction, min_hidden)
''', "receptive_field": '''
def receptive_field(kernel_size, dilation=1):
    for label, v in (("kernel_size", kernel_size), ("dilation", dilation)):
        if type(v) != int or v < 1:
            raise ValueError(f"{label} must be an integer of at least 1, got {label}={v!r}")
    return (kernel_size - 1) * dilation + 1
''', "sk_attention": '''
class SKAttention(nn.Module):
    def __init__(self, channels, *, branches=2, reduction=16, min_hidden=32, groups=32, stride=1):
        super().__init__()
        checks_ = [("channels", channels), ("branches", branches), ("groups", groups), ("stride", stride)]
        for label, v in checks_:
            if type(v) != int or v < 1:
                raise ValueError(f"{label} must be an integer of at least 1, got {label}={v!r}")
        if channels % groups:
            raise ValueError(f"channels={channels} is not a multiple of groups={groups}")
        d = sk_hidden_width(channels, reduction, min_hidden)
        self.m = branches
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, stride=stride, padding=dil, dilation=dil, groups=groups,
                                    bias=False), nn.BatchNorm2d(channels), nn.ReLU())
            for dil in range(1, branches + 1))
        self.fc = nn.Linear(channels, d, bias=False)
        self.fc_bn = nn.BatchNorm1d(d)
        self.select = nn.ModuleList(nn.Linear(d, channels, bias=False) for _ in range(branches))

    def selection_weights(self, x):
        outs = [branch(x) for branch in self.branches]
        return self._mix_weights(sum(outs))

    def _mix_weights(self, fused):
        z = torch.relu(self.fc_bn(self.fc(fused.mean(dim=(-2, -1)))))
        all_scores = z @ torch.cat([layer.weight for layer in self.select], dim=0).T   # (B, M*C)
        scores = rearrange(all_scores, "b (m c) -> b m c 1 1", m=self.m)
        return torch.log_softmax(scores, dim=1).exp()

    def forward(self, x):
        outs = torch.stack([branch(x) for branch in self.branches], dim=1)
        return (self._mix_weights(outs.sum(dim=1)) * outs).sum(dim=1)
'''},
}
