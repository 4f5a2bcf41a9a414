"""Submissions for 04_simam that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

Part C's visible check minimises the student's own ``neuron_energy`` and compares the result with
the student's own ``minimal_energy``: a wrong energy can also cost Part C, where the comparison
shows it.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "04_simam"

# ------------------------------------------------------------------------------------ Part A
_ENERGY_SIGNATURE = "\ndef neuron_energy(w, b, t, others, e_lambda):\n"


def _energy(body: str) -> str:
    return _ENERGY_SIGNATURE + body


# ------------------------------------------------------------------------------------ Part B
_MINIMAL_SIGNATURE = "\ndef minimal_energy(t, others, e_lambda):\n"


def _minimal(body: str) -> str:
    return _MINIMAL_SIGNATURE + body


# ------------------------------------------------------------------------------------ Part C
_MINIMISE_WITH = '''
def minimise(energy):
    w = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
'''


def _minimise(body: str) -> str:
    return _MINIMISE_WITH + body


# ------------------------------------------------------------------------------------ Part D
def _init(channels_rule: str = "not isinstance(channels, int) or channels < 1",
          channels_message: str = 'f"channels must be an int of at least 1, got {channels!r}"',
          lambda_rule: str = "not e_lambda > 0",
          lambda_message: str = 'f"e_lambda must be positive, got {e_lambda!r}"',
          keep: str = "self.e_lambda = e_lambda", docstring: bool = True) -> str:
    """A student's SimAM.__init__: checks both settings, then keeps lambda (each part replaceable)."""
    doc = '    """SimAM written by a student."""\n\n' if docstring else ""
    return ('\nclass SimAM(nn.Module):\n' + doc + '    def __init__(self, channels, *, e_lambda=1e-4):\n'
            '        super().__init__()\n'
            f'        if {channels_rule}:\n            raise ValueError({channels_message})\n'
            f'        if {lambda_rule}:\n            raise ValueError({lambda_message})\n'
            f'        {keep}\n')


_SIMAM_INIT = _init()
_GATE_OK = """        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
"""


def _simam(gate_body: str = _GATE_OK, forward: str = "return x * self.gate(x)",
           init: str = _SIMAM_INIT) -> str:
    return (init + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_NO_SIGMOID = _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return d2 / (4 * (var + self.e_lambda)) + 0.5
""")

_ENERGY = {"test_energy"}
_MINIMAL = {"test_minimal_energy"}
_MINIMISE = {"test_minimise"}
_VALUES = {"test_simam_behaviour", "test_simam_reference"}
_SIMAM = {"test_simam_structure"} | _VALUES

WRONG = {
    # ---- Part A: the energy
    "energy_labels_swapped": Wrong({"neuron_energy": _energy("""    others_term = ((1 - (w * others + b)) ** 2).mean()
    return others_term + (-1 - (w * t + b)) ** 2 + e_lambda * w ** 2
""")}, loses=_ENERGY | _MINIMISE),
    "energy_sums_the_others": Wrong({"neuron_energy": _energy("""    others_term = ((-1 - (w * others + b)) ** 2).sum()
    return others_term + (1 - (w * t + b)) ** 2 + e_lambda * w ** 2
""")}, loses=_ENERGY | _MINIMISE),
    "energy_penalises_b": Wrong({"neuron_energy": _energy("""    others_term = ((-1 - (w * others + b)) ** 2).mean()
    return others_term + (1 - (w * t + b)) ** 2 + e_lambda * b ** 2
""")}, loses=_ENERGY | _MINIMISE),
    "energy_without_penalty": Wrong({"neuron_energy": _energy("""    others_term = ((-1 - (w * others + b)) ** 2).mean()
    return others_term + (1 - (w * t + b)) ** 2
""")}, loses=_ENERGY | _MINIMISE),
    "energy_averages_the_target_in": Wrong({"neuron_energy": _energy("""    everyone = torch.cat([(-1 - (w * others + b)) ** 2, ((1 - (w * t + b)) ** 2).reshape(1)])
    return everyone.mean() + e_lambda * w ** 2
""")}, loses=_ENERGY | _MINIMISE),
    "energy_through_item": Wrong({"neuron_energy": _energy("""    others_term = float(((-1 - (w * others + b)) ** 2).mean())
    return torch.tensor(others_term + float((1 - (w * t + b)) ** 2) + e_lambda * float(w) ** 2, dtype=torch.float64)
""")}, loses=_ENERGY | _MINIMISE),
    # ---- Part B: the minimal energy
    "minimal_with_unbiased_variance": Wrong({"minimal_energy": _minimal("""    mu, var = others.mean(), others.var()
    return 4 * (var + e_lambda) / ((t - mu) ** 2 + 2 * var + 2 * e_lambda)
""")}, loses=_MINIMAL | _MINIMISE),
    "minimal_with_target_in_the_statistics": Wrong({"minimal_energy": _minimal("""    everyone = torch.cat([others, t.reshape(1)])
    mu = everyone.mean()
    var = ((everyone - mu) ** 2).mean()
    return 4 * (var + e_lambda) / ((t - mu) ** 2 + 2 * var + 2 * e_lambda)
""")}, loses=_MINIMAL | _MINIMISE),
    "minimal_returns_the_importance": Wrong({"minimal_energy": _minimal("""    mu = others.mean()
    var = ((others - mu) ** 2).mean()
    return (t - mu) ** 2 / (4 * (var + e_lambda)) + 0.5
""")}, loses=_MINIMAL | _MINIMISE),
    "minimal_lambda_outside": Wrong({"minimal_energy": _minimal("""    mu = others.mean()
    var = ((others - mu) ** 2).mean()
    return (4 * var + e_lambda) / ((t - mu) ** 2 + 2 * var + 2 * e_lambda)
""")}, loses=_MINIMAL | _MINIMISE),
    "minimal_std_instead_of_variance": Wrong({"minimal_energy": _minimal("""    mu = others.mean()
    sd = ((others - mu) ** 2).mean().sqrt()
    return 4 * (sd + e_lambda) / ((t - mu) ** 2 + 2 * sd + 2 * e_lambda)
""")}, loses=_MINIMAL | _MINIMISE),
    # ---- Part C: the optimiser
    "minimise_adam_too_few_steps": Wrong({"minimise": _minimise("""    optimiser = torch.optim.Adam([w, b], lr=0.01)
    for _ in range(100):
        optimiser.zero_grad()
        energy(w, b).backward()
        optimiser.step()
    return w.detach(), b.detach()
""")}, loses=_MINIMISE),
    "minimise_sgd_steps_too_large": Wrong({"minimise": _minimise("""    optimiser = torch.optim.SGD([w, b], lr=1.0)
    for _ in range(200):
        optimiser.zero_grad()
        energy(w, b).backward()
        optimiser.step()
    return w.detach(), b.detach()
""")}, loses=_MINIMISE),
    "minimise_one_lbfgs_iteration": Wrong({"minimise": _minimise("""    optimiser = torch.optim.LBFGS([w, b], max_iter=1)

    def closure():
        optimiser.zero_grad()
        value = energy(w, b)
        value.backward()
        return value

    optimiser.step(closure)
    return w.detach(), b.detach()
""")}, loses=_MINIMISE),
    "minimise_gradient_ascent": Wrong({"minimise": _minimise("""    optimiser = torch.optim.LBFGS([w, b], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        value = -energy(w, b)
        value.backward()
        return value

    for _ in range(3):
        optimiser.step(closure)
    return w.detach(), b.detach()
""")}, loses=_MINIMISE),
    # ---- Part D: SimAM
    "n_is_hw": Wrong({"simam": _simam("""        n = x.shape[2] * x.shape[3]
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "mean_over_the_channels": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=1, keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "statistics_over_the_batch_too": Wrong({"simam": _simam("""        n = max(x.shape[0] * x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(0, 2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(0, 2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "variance_over_all_channels": Wrong({"simam": _simam("""        B, C, H, W = x.shape
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(1, 2, 3), keepdim=True) / max(C * H * W - 1, 1)
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "missing_one_half": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)))
""")}, loses=_VALUES),
    "lambda_outside_the_four": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * var + self.e_lambda) + 0.5)
""")}, loses=_VALUES),
    "standard_deviation_instead_of_variance": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        sd = (d2.sum(dim=(2, 3), keepdim=True) / n).sqrt()
        return torch.sigmoid(d2 / (4 * (sd + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "missing_sigmoid": Wrong({"simam": _NO_SIGMOID}, loses=_VALUES),
    "returns_the_gate": Wrong({"simam": _simam(forward="return self.gate(x)")}, loses=_VALUES),
    "distance_not_squared": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d = (x - x.mean(dim=(2, 3), keepdim=True)).abs()
        var = (d ** 2).sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "squeeze_drops_the_batch_of_one": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        mu = rearrange(x.mean(dim=(2, 3)).squeeze(), "b c -> b c 1 1")
        d2 = (x - mu) ** 2
        var = rearrange(d2.sum(dim=(2, 3)).squeeze(), "b c -> b c 1 1") / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_SIMAM),
    "official_arithmetic_nan_on_1x1": Wrong({"simam": _simam("""        n = x.shape[2] * x.shape[3] - 1
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses=_VALUES),
    "default_lambda_ignored": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + 1e-4)) + 0.5)
""")}, loses=_VALUES),
    "scales_input_in_place": Wrong({"simam": _simam(forward="x *= self.gate(x)\n        return x")},
                                   loses=_VALUES),
    "statistics_detached": Wrong({"simam": _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        with torch.no_grad():
            mu = x.mean(dim=(2, 3), keepdim=True)
            var = ((x - mu) ** 2).sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid((x - mu) ** 2 / (4 * (var + self.e_lambda)) + 0.5)
""")}, loses={"test_simam_reference"}),
    "float32_hard_coded": Wrong({"simam": _simam("""        x = x.float()
        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return torch.sigmoid(d2 / (4 * (var + self.e_lambda)) + 0.5)
""", forward="return (x.float() * self.gate(x)).to(torch.float32)")}, loses=_VALUES),
    "accepts_a_zero_lambda": Wrong({"simam": _simam(init=_init(
        lambda_rule="e_lambda < 0", lambda_message='f"e_lambda must not be negative, got {e_lambda!r}"',
        docstring=False))}, loses={"test_simam_structure"}),
    "accepts_float_channels": Wrong({"simam": _simam(init=_init(
        channels_rule="channels < 1", channels_message='f"channels must be at least 1, got {channels!r}"',
        docstring=False))}, loses={"test_simam_structure"}),
    "error_messages_without_values": Wrong({"simam": _simam(init=_init(
        channels_message='"channels must be a positive int"', lambda_message='"e_lambda must be positive"',
        docstring=False))}, loses={"test_simam_structure"}),
    "lambda_as_a_buffer": Wrong({"simam": _simam(init=_init(
        keep='self.register_buffer("e_lambda", torch.tensor(float(e_lambda)))', docstring=False))}, loses={"test_simam_structure"}),
    "lambda_learnable": Wrong({"simam": _simam(init=_init(
        keep="self.e_lambda = nn.Parameter(torch.tensor(float(e_lambda)))", docstring=False))}, loses={"test_simam_structure"}),
    # ---- Cheating: the answer key imported, subclassed, wrapped or built by the factory.
    "cheat_import_reference": Wrong({"simam": """
from attn_course.modules import SimAM
"""}, loses=_SIMAM),
    "cheat_subclass_reference": Wrong({"simam": """
from attn_course.modules import simam as _simam_module

class SimAM(_simam_module.SimAM):
    pass
"""}, loses=_SIMAM),
    "cheat_wrap_reference": Wrong({"simam": """
import attn_course.modules

class SimAM(nn.Module):
    def __init__(self, channels, *, e_lambda=1e-4):
        super().__init__()
        object.__setattr__(self, "inner", [attn_course.modules.SimAM(channels, e_lambda=e_lambda)])

    def gate(self, x):
        return self.inner[0].gate(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_SIMAM),
    "cheat_create_attention": Wrong({"simam": """
from attn_course import create_attention

def SimAM(channels, *, e_lambda=1e-4):
    return create_attention("simam", channels, e_lambda=e_lambda)
"""}, loses=_SIMAM),
    "cheat_reference_called_at_run_time": Wrong({"simam": _SIMAM_INIT + '''
        self.channels = channels

    def gate(self, x):
        module = __import__("attn_course.modules.simam", fromlist=["SimAM"])
        return module.SimAM.gate(self, x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_SIMAM),
    "cheat_reference_gate_through_a_closure": Wrong({"simam": '''
from attn_course import create_attention as _ca

def _make(channels, e_lambda):
    ref = _ca("simam", channels, e_lambda=e_lambda)
    return lambda x: type(ref).gate(ref, x)
''' + _SIMAM_INIT + '''
        self._fn = _make(channels, e_lambda)

    def gate(self, x):
        return self._fn(x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_SIMAM),
    "cheat_partialmethod_of_the_reference": Wrong({"simam": '''
import functools

def _reference():
    return __import__("attn_course.modules.simam", fromlist=["SimAM"]).SimAM
''' + _SIMAM_INIT + '''
        self.channels = channels

    gate = functools.partialmethod(_reference().gate)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_SIMAM),
    # ---- Cheating: values that fake equality, the tests' own definitions.
    "cheat_tensor_subclass_lies": Wrong({"simam": cheats.LIAR_TENSOR + _simam("""        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d2 = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d2.sum(dim=(2, 3), keepdim=True) / n
        return (d2 / (4 * (var + self.e_lambda)) + 0.5).as_subclass(_Liar)
""", forward="return (x * self.gate(x)).as_subclass(_Liar)")}, loses=_SIMAM),
    "cheat_energy_that_equals_anything": Wrong(
        {"minimal_energy": cheats.always_equal("minimal_energy(t, others, e_lambda)")},
        loses=_MINIMAL | _MINIMISE),
}

CORRECT = {
    # einops with a variance from torch.var (unbiased: Σ/(M − 1)); a 1 × 1 map handled apart; the
    # energy's others term as a dot product; statistics with torch.var_mean; Newton's method.
    "var_unbiased_and_newton": {"neuron_energy": '''
def neuron_energy(w, b, t, others, e_lambda):
    miss = -1.0 - w * others - b
    return torch.dot(miss, miss) / others.numel() + torch.square(1.0 - w * t - b) + e_lambda * torch.square(w)
''', "minimal_energy": '''
def minimal_energy(t, others, e_lambda):
    var, mu = torch.var_mean(others, correction=0)
    return 4.0 * (var + e_lambda) / (torch.square(t - mu) + 2.0 * (var + e_lambda))
''', "minimise": '''
def minimise(energy):
    """Newton's method on the 2 x 2 Hessian, with torch.autograd.functional."""
    v = torch.zeros(2, dtype=torch.float64)
    f = lambda p: energy(p[0], p[1])
    for _ in range(50):
        g = torch.autograd.functional.jacobian(f, v)
        H = torch.autograd.functional.hessian(f, v)
        v = v - torch.linalg.solve(H, g)
        if float(g.abs().max()) < 1e-12:
            break
    return float(v[0]), float(v[1])
''', "simam": '''
class SimAM(nn.Module):
    def __init__(self, channels: int, *, e_lambda: float = 1e-4):
        super().__init__()
        if type(channels) is not int or channels <= 0:
            raise ValueError(f"SimAM: channels={channels} is not a positive integer")
        if e_lambda <= 0:
            raise ValueError(f"SimAM: e_lambda={e_lambda} must be greater than 0")
        self.lam = float(e_lambda)

    def gate(self, x):
        if x.shape[2] * x.shape[3] == 1:
            return torch.sigmoid(torch.full_like(x, 0.5))
        var = x.var(dim=(2, 3), keepdim=True)                      # divides by H*W - 1
        return torch.sigmoid((x - x.mean(dim=(2, 3), keepdim=True)).pow(2) / (4 * (var + self.lam)) + 0.5)

    def forward(self, x):
        return torch.mul(self.gate(x), x)
'''},
    # The importance computed as the reciprocal of the minimal energy E* (one division more),
    # statistics on a flattened (B, C, H*W) view, nn.Sigmoid, LBFGS without a line search.
    "reciprocal_of_the_minimal_energy": {"neuron_energy": '''
def neuron_energy(w, b, t, others, e_lambda):
    predictions = torch.cat([(w * t + b).reshape(1), w * others + b])
    labels = torch.cat([torch.ones(1, dtype=others.dtype), -torch.ones_like(others)])
    weights = torch.cat([torch.ones(1, dtype=others.dtype), torch.full_like(others, 1.0 / others.numel())])
    return (weights * (labels - predictions) ** 2).sum() + e_lambda * w * w
''', "minimal_energy": '''
def minimal_energy(t, others, e_lambda):
    m = others.numel()
    mu = others.sum() / m
    var = (others * others).sum() / m - mu * mu
    d2 = (t - mu) * (t - mu)
    return 1.0 / (d2 / (4.0 * (var + e_lambda)) + 0.5)
''', "minimise": '''
def minimise(energy):
    params = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in range(2)]
    optimiser = torch.optim.LBFGS(params, lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  history_size=10)

    def closure():
        optimiser.zero_grad()
        value = energy(*params)
        value.backward()
        return value

    for _ in range(5):
        optimiser.step(closure)
    return tuple(p.detach() for p in params)
''', "simam": '''
class SimAM(nn.Module):
    """SimAM through the minimal energy E* itself."""

    def __init__(self, channels, *, e_lambda=1e-4):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"SimAM needs at least one channel (an int), got {channels}")
        if not (e_lambda > 0):
            raise ValueError(f"SimAM needs e_lambda > 0, got {e_lambda}")
        self.e_lambda = e_lambda
        self.activation = nn.Sigmoid()

    def gate(self, x):
        B, C, H, W = x.shape
        flat = x.reshape(B, C, H * W)
        mu = flat.mean(dim=-1, keepdim=True)
        var = ((flat - mu) ** 2).sum(dim=-1, keepdim=True) / max(H * W - 1, 1)
        energy = 4 * (var + self.e_lambda) / ((flat - mu) ** 2 + 2 * var + 2 * self.e_lambda)
        return self.activation(1.0 / energy).reshape(B, C, H, W)

    def forward(self, x):
        return x * self.gate(x)
'''},
    # Adam that runs until the gradient is tiny, einsum-free loops over nothing: einops reduce and
    # rearrange with named axes, the gate from torch.addcmul.
    "einops_and_adam_to_convergence": {"minimise": '''
def minimise(energy):
    w = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    first = torch.optim.Adam([w, b], lr=0.05)
    for _ in range(300):
        first.zero_grad()
        energy(w, b).backward()
        first.step()
    finish = torch.optim.LBFGS([w, b], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        finish.zero_grad()
        value = energy(w, b)
        value.backward()
        return value

    finish.step(closure)
    return w.item(), b.item()
''', "simam": '''
class SimAM(nn.Module):
    def __init__(self, channels, *, e_lambda=1e-4):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels={channels!r}: need a whole number of channels, at least 1")
        if not e_lambda > 0:
            raise ValueError(f"e_lambda={e_lambda!r}: the regulariser must be positive")
        self.e_lambda = e_lambda

    def gate(self, x):
        B, C, H, W = x.shape
        mu = reduce(x, "b c h w -> b c 1 1", "mean")
        centred = x - mu
        squares = centred * centred
        inverse = 1.0 / (4 * reduce(squares, "b c h w -> b c 1 1", "sum") / max(H * W - 1, 1) + 4 * self.e_lambda)
        return torch.sigmoid(torch.addcmul(torch.full_like(x, 0.5), squares, inverse))

    def forward(self, x):
        return self.gate(x) * x
'''},
}

# A hanging cell is tested in notebooks 01-03 (the autograder's timeout does not depend on the
# notebook, and each hanging case costs the whole timeout of CI time).
