"""Submissions for 05_nam that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch). CORRECT cases are written differently from the solution and must keep
full marks.

``NAMAttention.channel_weights`` calls the student's ``nam_channel_weights``, so a wrong weight
function also costs the module's tests (``_NAM``) wherever the module's numbers show it. Part D's
``NAMChannelOnly`` wraps the student's ``NAMAttention`` and Part C reads its ``bn.weight``, so a module
that crashes, changes its input or parameters in place, or is not the student's own also costs
``test_fix_switch`` (and, without ``bn.weight``, ``test_sparsity_penalty``); the penalty test grades
the penalty function alone otherwise.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "05_nam"

# --------------------------------------------------------------------------------- channel weights
_WEIGHTS_OK = """
def nam_channel_weights(gamma):
    g = gamma.detach().abs()
    return g / g.sum().clamp_min(torch.finfo(g.dtype).tiny)
"""


def _weights(body: str) -> str:
    return "\ndef nam_channel_weights(gamma):\n" + body + "\n"


# --------------------------------------------------------------------------------- NAMAttention
_NAM_HEADER = '''
class NAMAttention(nn.Module):
    """NAM written by a student."""

    def __init__(self, channels):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
'''
_NAM_BN = "        self.bn = nn.BatchNorm2d(channels)\n"
_NAM_WEIGHTS = """
    def channel_weights(self):
        return nam_channel_weights(self.bn.weight)
"""


def _nam(gate_body: str, forward: str = "return x * self.gate(x)", init: str = _NAM_BN,
         header: str = _NAM_HEADER, weights: str = _NAM_WEIGHTS) -> str:
    return (header + init + weights + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_GATE_OK = """        w = self.channel_weights()[:, None, None]
        return torch.sigmoid(w * self.bn(x))
"""

# --------------------------------------------------------------------------------- penalty
_PENALTY_CHECK = """    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise ValueError(f"weight must be a non-negative number, got weight={weight}")
"""


def _penalty(body: str, check: str = _PENALTY_CHECK) -> str:
    return "\ndef nam_sparsity_penalty(model, weight=1e-4):\n" + check + body + "\n"


# --------------------------------------------------------------------------------- the switch (fix)
_SWITCH_FORWARD = """
    def forward(self, x):
        return self.channel(x)
"""


def _switch(init_body: str, forward: str = _SWITCH_FORWARD) -> str:
    return ("\nclass NAMChannelOnly(nn.Module):\n    def __init__(self, channels, *, no_spatial=True):\n"
            "        super().__init__()\n" + init_body + forward)


_WEIGHTS = {"test_channel_weights"}
_NAM = {"test_nam_structure", "test_nam_behaviour", "test_nam_reference"}
_PENALTY = {"test_sparsity_penalty"}
_SWITCH = {"test_fix_switch"}

WRONG = {
    # ---- Part A: the channel weights
    "weights_without_abs": Wrong({"channel_weights": _weights("""    g = gamma.detach()
    return g / g.sum()
""")}, loses=_WEIGHTS | {"test_nam_behaviour", "test_nam_reference"}),
    # softmax of equal scale factors is 1/C too, so a fresh module's weights cannot show it
    "weights_softmax": Wrong({"channel_weights": _weights("""    return torch.softmax(gamma.detach().abs(), dim=0)
""")}, loses=_WEIGHTS | {"test_nam_behaviour", "test_nam_reference"}),
    "weights_softmax_of_gamma": Wrong({"channel_weights": _weights("""    return torch.softmax(gamma.detach(), dim=0)
""")}, loses=_WEIGHTS | {"test_nam_behaviour", "test_nam_reference"}),
    "weights_not_detached": Wrong({"channel_weights": _weights("""    return gamma.abs() / gamma.abs().sum().clamp_min(1e-30)
""")}, loses=_WEIGHTS | {"test_nam_reference"}),
    "weights_divided_by_the_mean": Wrong({"channel_weights": _weights("""    g = gamma.detach().abs()
    return g / g.mean()
""")}, loses=_WEIGHTS | _NAM),
    "weights_divided_by_the_max": Wrong({"channel_weights": _weights("""    g = gamma.detach().abs()
    return g / g.max()
""")}, loses=_WEIGHTS | _NAM),
    "weights_nan_for_zero_gamma": Wrong({"channel_weights": _weights("""    g = gamma.detach().abs()
    return g / g.sum()
""")}, loses=_WEIGHTS | {"test_nam_behaviour"}),
    "weights_abs_in_place": Wrong({"channel_weights": _weights("""    g = gamma.detach()
    g.abs_()
    return g / g.sum().clamp_min(1e-30)
""")}, loses=_WEIGHTS | {"test_nam_reference", "test_fix_switch"}),
    "weights_l2_normalised": Wrong({"channel_weights": _weights("""    g = gamma.detach()
    return g.abs() / g.norm().clamp_min(1e-30)
""")}, loses=_WEIGHTS | _NAM),
    # ---- Part B: the module
    "gate_from_x_not_bn": Wrong({"nam_attention": _nam("""        w = self.channel_weights()[:, None, None]
        return torch.sigmoid(w * x)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "returns_the_gate": Wrong({"nam_attention": _nam(_GATE_OK, forward="return self.gate(x)")},
                              loses={"test_nam_behaviour", "test_nam_reference"}),
    "multiplies_bn_x_not_x": Wrong({"nam_attention": _nam(_GATE_OK, forward="return self.bn(x) * self.gate(x)")},
                                   loses={"test_nam_behaviour", "test_nam_reference"}),
    "no_sigmoid": Wrong({"nam_attention": _nam("""        w = self.channel_weights()[:, None, None]
        return w * self.bn(x)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "weights_not_applied": Wrong({"nam_attention": _nam("""        return torch.sigmoid(self.bn(x))
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "gamma_detached_inside_the_batchnorm": Wrong({"nam_attention": _nam("""        bn = self.bn
        w = self.channel_weights()[:, None, None]
        normed = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias,
                              training=self.training, momentum=bn.momentum, eps=bn.eps)
        return torch.sigmoid(w * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "batchnorm_under_no_grad": Wrong({"nam_attention": _nam("""        w = self.channel_weights()[:, None, None]
        with torch.no_grad():
            normed = self.bn(x)
        return torch.sigmoid(w * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "gamma_not_detached_in_the_module": Wrong({"nam_attention": _nam("""        g = self.bn.weight
        w = (g.abs() / g.abs().sum().clamp_min(1e-30))[:, None, None]
        return torch.sigmoid(w * self.bn(x))
""")}, loses={"test_nam_reference"}),
    "batchnorm_always_in_eval_mode": Wrong({"nam_attention": _nam("""        bn = self.bn
        w = self.channel_weights()[:, None, None]
        normed = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)
        return torch.sigmoid(w * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "batchnorm_always_in_training_mode": Wrong({"nam_attention": _nam("""        bn = self.bn
        w = self.channel_weights()[:, None, None]
        normed = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=True,
                              momentum=bn.momentum, eps=bn.eps)
        return torch.sigmoid(w * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "hand_made_batchnorm_without_running_stats": Wrong({"nam_attention": _nam("""        mu = x.mean(dim=(0, 2, 3), keepdim=True)
        var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
        normed = self.bn.weight[:, None, None] * (x - mu) / torch.sqrt(var + 1e-5) + self.bn.bias[:, None, None]
        return torch.sigmoid(self.channel_weights()[:, None, None] * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "batchnorm_statistics_per_image": Wrong({"nam_attention": _nam("""        mu = x.mean(dim=(2, 3), keepdim=True)
        var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
        if not self.training:
            mu, var = self.bn.running_mean[:, None, None], self.bn.running_var[:, None, None]
        normed = self.bn.weight[:, None, None] * (x - mu) / torch.sqrt(var + 1e-5) + self.bn.bias[:, None, None]
        return torch.sigmoid(self.channel_weights()[:, None, None] * normed)
""")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "batchnorm_without_affine": Wrong({"nam_attention": _nam("""        return torch.sigmoid(self.channel_weights()[:, None, None] * self.bn(x))
""", init="""        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Parameter(torch.ones(channels))

    def channel_weights(self):
        return nam_channel_weights(self.gamma)
""", weights="")}, loses=_NAM | _PENALTY | _SWITCH),
    "batchnorm_momentum_001": Wrong({"nam_attention": _nam(_GATE_OK, init="""        self.bn = nn.BatchNorm2d(channels, momentum=0.01)
""")}, loses={"test_nam_structure", "test_nam_behaviour"}),
    "weights_broadcast_over_width": Wrong({"nam_attention": _nam("""        w = self.channel_weights()
        return torch.sigmoid(w * self.bn(x))
""")}, loses={"test_nam_behaviour", "test_nam_reference", "test_fix_switch"}),
    "squeeze_drops_the_batch_of_one": Wrong({"nam_attention": _nam("""        w = self.channel_weights()[:, None, None]
        return torch.sigmoid(w * self.bn(x)).squeeze()
""", forward="return x * self.gate(x).reshape(x.shape)")}, loses={"test_nam_behaviour", "test_nam_reference"}),
    "multiplies_in_place": Wrong({"nam_attention": _nam(_GATE_OK, forward="return x.mul_(self.gate(x))")},
                                 loses={"test_nam_behaviour", "test_nam_reference", "test_fix_switch"}),
    "accepts_float_channels": Wrong({"nam_attention": _nam(_GATE_OK, header='''
class NAMAttention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        channels = int(channels)
''')}, loses={"test_nam_structure"}),
    "error_message_without_the_value": Wrong({"nam_attention": _nam(_GATE_OK, header='''
class NAMAttention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError("channels must be a positive integer")
''')}, loses={"test_nam_structure"}),
    # ---- Part C: the penalty
    "penalty_l2": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + (m.bn.weight ** 2).sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_counts_the_biases": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.abs().sum() + m.bn.bias.abs().sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_on_every_batchnorm": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            total = total + m.weight.abs().sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_without_abs": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_detached": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.data.abs().sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_on_the_channel_weights": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.channel_weights().abs().sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_mean_instead_of_sum": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.abs().mean()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_ignores_weight": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.abs().sum()
    return 1e-4 * total
""")}, loses=_PENALTY),
    "penalty_top_level_children_only": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.children():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.abs().sum()
    return weight * total
""")}, loses=_PENALTY),
    "penalty_python_zero_without_nam": Wrong({"sparsity_penalty": _penalty("""    return weight * sum(m.bn.weight.abs().sum() for m in model.modules() if isinstance(m, NAMAttention))
""")}, loses=_PENALTY),
    "penalty_accepts_negative_weight": Wrong({"sparsity_penalty": _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + m.bn.weight.abs().sum()
    return weight * total
""", check="")}, loses=_PENALTY),
    # ---- Part D: the switch
    "fix_still_ignores_the_switch": Wrong({"fix_switch": _switch("""        self.channel = NAMAttention(channels)
        self.no_spatial = no_spatial
""")}, loses=_SWITCH),
    "fix_refuses_without_naming_the_option": Wrong({"fix_switch": _switch("""        if not no_spatial:
            raise ValueError("not supported")
        self.channel = NAMAttention(channels)
""")}, loses=_SWITCH),
    "fix_raises_notimplementederror": Wrong({"fix_switch": _switch("""        if not no_spatial:
            raise NotImplementedError(f"no_spatial={no_spatial}: there is no spatial branch")
        self.channel = NAMAttention(channels)
""")}, loses=_SWITCH),
    "fix_only_refuses_false": Wrong({"fix_switch": _switch("""        if no_spatial is False:
            raise ValueError(f"no_spatial={no_spatial}: there is no spatial branch")
        self.channel = NAMAttention(channels)
""")}, loses=_SWITCH),
    "fix_returns_the_gate": Wrong({"fix_switch": _switch("""        if not no_spatial:
            raise ValueError(f"no_spatial={no_spatial}: there is no spatial branch")
        self.channel = NAMAttention(channels)
""", forward="""
    def forward(self, x):
        return self.channel.gate(x)
""")}, loses=_SWITCH),
    # ---- cheating: the answer key imported, subclassed, wrapped, built by the factory, reached at run time
    "cheat_import_reference_weights": Wrong({"channel_weights": """
from attn_course.modules.nam import NAMAttention as _Ref

def nam_channel_weights(gamma):
    holder = _Ref(gamma.shape[0]).to(gamma.dtype)
    with torch.no_grad():
        holder.bn.weight.copy_(gamma)
    return holder.channel_weights()
"""}, loses=_WEIGHTS | _NAM | _SWITCH),
    "cheat_import_reference": Wrong({"nam_attention": """
from attn_course.modules import NAMAttention
"""}, loses=_NAM | _SWITCH),
    "cheat_subclass_reference": Wrong({"nam_attention": """
from attn_course.modules import nam as _reference

class NAMAttention(_reference.NAMAttention):
    pass
"""}, loses=_NAM | _SWITCH),
    "cheat_wrap_reference": Wrong({"nam_attention": """
import attn_course.modules

class NAMAttention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        inner = attn_course.modules.NAMAttention(channels)
        self.bn = inner.bn
        object.__setattr__(self, "inner", [inner])

    def channel_weights(self):
        return self.inner[0].channel_weights()

    def gate(self, x):
        return self.inner[0].gate(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_NAM | _SWITCH),
    "cheat_create_attention": Wrong({"nam_attention": """
from attn_course import create_attention

def NAMAttention(channels):
    return create_attention("nam", channels)
"""}, loses=_NAM | _PENALTY | _SWITCH),    # isinstance(m, NAMAttention) fails on a function
    "cheat_reference_gate_through_a_closure": Wrong({"nam_attention": '''
from attn_course import create_attention as _ca

def _make(channels):
    ref = _ca("nam", channels)
    return ref.bn, (lambda self, x: type(ref).gate(self, x))

class NAMAttention(nn.Module):
    def __init__(self, channels):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.bn, fn = _make(channels)
        self.channels = channels
        self._fn = fn

    def channel_weights(self):
        return nam_channel_weights(self.bn.weight)

    def gate(self, x):
        return self._fn(self, x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses={"test_nam_behaviour", "test_nam_reference", "test_fix_switch"}),
    "cheat_import_reference_penalty": Wrong({"sparsity_penalty": """
from attn_course.modules.nam import nam_sparsity_penalty
"""}, loses=_PENALTY),
    "cheat_reference_penalty_at_run_time": Wrong({"sparsity_penalty": _penalty("""    reference = __import__("attn_course.modules.nam", fromlist=["NAMAttention"])
    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            ref = reference.NAMAttention(m.bn.weight.shape[0])
            ref.bn = m.bn
            total = total + reference.nam_sparsity_penalty(ref, 1.0)
    return weight * total
""")}, loses=_PENALTY),
    "cheat_tensor_subclass_lies": Wrong({"nam_attention": cheats.LIAR_TENSOR + _nam("""        w = self.channel_weights()[:, None, None]
        return torch.sigmoid(w * x).as_subclass(_Liar)
""", forward="return (x * self.gate(x)).as_subclass(_Liar)")},
                                    loses={"test_nam_behaviour", "test_nam_reference", "test_fix_switch"}),
    "cheat_penalty_tensor_subclass_lies": Wrong({"sparsity_penalty": cheats.LIAR_TENSOR + _penalty("""    total = torch.zeros(())
    for m in model.modules():
        if isinstance(m, NAMAttention):
            total = total + (m.bn.weight ** 2).sum()
    return (weight * total).as_subclass(_Liar)
""")}, loses=_PENALTY),
    "cheat_number_that_equals_anything": Wrong(
        {"sparsity_penalty": cheats.always_equal("nam_sparsity_penalty(model, weight=1e-4)")}, loses=_PENALTY),
}

CORRECT = {
    # Functional BatchNorm on the layer's own tensors, einsum for the weighting, where() for the guard,
    # a penalty built with torch.stack, the switch tested with `is not True`... (which also refuses 0 and None).
    "functional_batch_norm_and_einsum": {"channel_weights": """
def nam_channel_weights(gamma):
    with torch.no_grad():
        magnitude = torch.abs(gamma)
        total = torch.sum(magnitude)
        return torch.where(total > 0, magnitude / torch.where(total > 0, total, torch.ones_like(total)),
                           torch.zeros_like(magnitude))
""", "nam_attention": '''
class NAMAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        if type(channels) is not int or channels <= 0:
            raise ValueError(f"NAMAttention: channels={channels} is not a positive integer")
        self.bn = nn.BatchNorm2d(num_features=channels, eps=1e-5, momentum=0.1, affine=True)

    def channel_weights(self):
        return nam_channel_weights(self.bn.weight)

    def gate(self, x):
        bn = self.bn
        normed = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                              training=self.training, momentum=bn.momentum, eps=bn.eps)
        return torch.sigmoid(torch.einsum("c,bchw->bchw", self.channel_weights(), normed))

    def forward(self, x):
        return torch.mul(self.gate(x), x)
''', "sparsity_penalty": '''
def nam_sparsity_penalty(model, weight=1e-4):
    if type(weight) not in (int, float) or weight < 0:
        raise ValueError(f"nam_sparsity_penalty: weight={weight} must be a non-negative number")
    gammas = [m.bn.weight for m in model.modules() if isinstance(m, NAMAttention)]
    if not gammas:
        return torch.zeros(())
    return weight * torch.stack([torch.linalg.vector_norm(g, ord=1) for g in gammas]).sum()
''', "fix_switch": '''
class NAMChannelOnly(nn.Module):
    def __init__(self, channels, *, no_spatial=True):
        super().__init__()
        if no_spatial is not True:
            raise ValueError(f"no_spatial={no_spatial!r} asks for a spatial branch, which NAM's official code does not have")
        self.channel = NAMAttention(channels)

    def forward(self, x):
        out = self.channel(x)
        return out
'''},
    # The official code's layout: permute to channels-last, multiply, permute back; .data for w;
    # a penalty accumulated as a Python sum over a generator, started from a tensor.
    "official_permute_layout": {"channel_weights": """
def nam_channel_weights(gamma):
    g = gamma.data.abs()
    s = g.sum()
    if s == 0:
        return torch.zeros_like(g)
    return g / s
""", "nam_attention": '''
class NAMAttention(nn.Module):
    def __init__(self, channels):
        super(NAMAttention, self).__init__()
        if not isinstance(channels, int) or isinstance(channels, bool):
            raise ValueError(f"channels must be an int, got {channels!r}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.bn = nn.BatchNorm2d(channels, affine=True)

    def channel_weights(self):
        return nam_channel_weights(self.bn.weight)

    def gate(self, x):
        z = self.bn(x).permute(0, 2, 3, 1).contiguous()
        z = torch.mul(self.channel_weights(), z)
        return torch.sigmoid(z.permute(0, 3, 1, 2).contiguous())

    def forward(self, x):
        residual = x
        return self.gate(x) * residual
''', "sparsity_penalty": '''
def nam_sparsity_penalty(model, weight=1e-4):
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ValueError(f"weight must be a number, got {weight!r}")
    if weight < 0:
        raise ValueError(f"weight must not be negative, got {weight}")
    return sum((m.bn.weight.abs().sum() * weight for m in model.modules() if isinstance(m, NAMAttention)),
               torch.zeros(()))
''', "fix_switch": '''
class NAMChannelOnly(nn.Module):
    def __init__(self, channels, *, no_spatial=True):
        super().__init__()
        self.channel = NAMAttention(channels)
        if not no_spatial:
            raise ValueError("no spatial branch exists in NAM's released code; "
                             f"got no_spatial={no_spatial}, only no_spatial=True is possible")

    def forward(self, x):
        return self.channel.forward(x)
'''},
    # einops for the weighting, the gate through nn.Sigmoid, rsqrt-free: a module-level helper;
    # the penalty as a dot product with sign(gamma) (the same value and gradient as |gamma|).
    "einops_and_helpers": {"channel_weights": """
def nam_channel_weights(gamma):
    g = gamma.detach().clone().abs()
    total = g.sum()
    return g / total if bool(total > 0) else g * 0
""", "nam_attention": '''
def _per_channel(w):
    return rearrange(w, "c -> 1 c 1 1")


class NAMAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        ok = isinstance(channels, int) and not isinstance(channels, bool) and channels >= 1
        if not ok:
            raise ValueError(f"NAMAttention(channels={channels!r}): need a positive whole number of channels")
        self.bn = nn.BatchNorm2d(channels)
        self.squash = nn.Sigmoid()

    def channel_weights(self):
        return nam_channel_weights(self.bn.weight)

    def gate(self, x):
        return self.squash(_per_channel(self.channel_weights()) * self.bn(x))

    def forward(self, x):
        g = self.gate(x)
        return g * x
''', "sparsity_penalty": '''
def nam_sparsity_penalty(model, weight=1e-4):
    if isinstance(weight, bool) or not isinstance(weight, (float, int)) or not weight >= 0:
        raise ValueError(f"the sparsity weight p must be >= 0; got {weight}")
    terms = []
    for name, module in model.named_modules():
        if isinstance(module, NAMAttention):
            gamma = module.bn.weight
            terms.append(torch.dot(gamma, torch.sign(gamma).detach()))
    total = torch.zeros(()) if not terms else sum(terms[1:], terms[0])
    return total * weight
''', "fix_switch": '''
class NAMChannelOnly(nn.Module):
    def __init__(self, channels, *, no_spatial=True):
        super().__init__()
        if no_spatial in (False, 0, None) or not no_spatial:
            raise ValueError(f"NAMChannelOnly: no_spatial={no_spatial} would need a spatial (pixel) branch; "
                             "only the channel branch exists")
        self.channel = NAMAttention(channels)

    def forward(self, x):
        return self.channel(x)
'''},
}

# A hanging cell is tested in notebooks 01-03 (the autograder's timeout does not depend on the
# notebook, and each hanging case costs the whole timeout of CI time).
