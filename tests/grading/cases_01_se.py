"""Submissions for 01_se that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "01_se"

_SE_HEADER = '''
class SEBlock(nn.Module):
    """SE block written by a student."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction if isinstance(reduction, int) and reduction > 0 else 0
        if hidden < 1:
            raise ValueError(f"{channels} channels with reduction {reduction} leave no hidden units "
                             "(reduction must be a whole number from 1 to the channel count)")
'''


def _se(init_layers: str, gate_body: str, forward: str = "return x * self.gate(x)",
        header: str = _SE_HEADER) -> str:
    return (header + init_layers + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_LINEAR = """        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
"""
_GATE_OK = """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
"""
_NO_SIGMOID = _se(_LINEAR, """        s = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3)))))
        return s[:, :, None, None]
""")
_SE_CELLS = {"test_se_structure", "test_se_behaviour", "test_se_reference"}
_VALUES = {"test_se_behaviour", "test_se_reference"}

WRONG = {
    "missing_sigmoid": Wrong({"se_block": _NO_SIGMOID}, loses=_VALUES),
    "returns_gate": Wrong({"se_block": _se(_LINEAR, _GATE_OK, forward="return self.gate(x)")},
                          loses=_VALUES),
    "relu_sigmoid_swapped": Wrong({"se_block": _se(_LINEAR, """        s = torch.relu(self.fc2(torch.sigmoid(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses=_VALUES),
    "missing_relu": Wrong({"se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(self.fc1(x.mean(dim=(2, 3)))))
        return s[:, :, None, None]
""")}, loses=_VALUES),
    "pools_over_channels": Wrong({"squeeze": """
def squeeze(x):
    return x.mean(dim=1)
"""}, loses={"test_squeeze"} | _SE_CELLS),
    "squeeze_drops_the_batch_of_one": Wrong({"squeeze": """
import torch.nn.functional as F

def squeeze(x):
    return F.adaptive_avg_pool2d(x, 1).squeeze()
"""}, loses={"test_squeeze"} | _VALUES),
    "max_instead_of_mean": Wrong({"squeeze": """
def squeeze(x):
    return x.amax(dim=(2, 3))
""", "se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.amax(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses={"test_squeeze", "test_se_reference"}),
    "transposed_weight": Wrong({"se_block": _se(_LINEAR, """        z = x.mean(dim=(2, 3))
        h = torch.relu(z @ self.fc2.weight + self.fc1.bias)
        s = torch.sigmoid(h @ self.fc1.weight + self.fc2.bias)
        return s[:, :, None, None]
""")}, loses={"test_se_reference"}),
    "no_bias": Wrong({"se_block": _se("""        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)
""", _GATE_OK)}, loses=_SE_CELLS),
    "ignores_reduction_argument": Wrong({"se_block": _se("""        self.fc1 = nn.Linear(channels, max(channels // 16, 1))
        self.fc2 = nn.Linear(max(channels // 16, 1), channels)
""", _GATE_OK)}, loses={"test_se_structure", "test_se_reference"}),
    "softmax_over_channels": Wrong({"se_block": _se(_LINEAR, """        s = torch.softmax(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))), dim=1)
        return s[:, :, None, None]
""")}, loses=_VALUES),
    "sum_instead_of_mean": Wrong({"squeeze": """
def squeeze(x):
    return x.sum(dim=(2, 3))
""", "se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.sum(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses={"test_squeeze", "test_se_reference"}),
    "gate_without_gradient": Wrong({"se_block": _se(_LINEAR, """        with torch.no_grad():
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses={"test_se_behaviour", "test_se_reference"}),
    "gate_from_detached_input": Wrong({"se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.detach().mean(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses={"test_se_reference"}),
    "no_error_for_reduction_zero": Wrong({"se_block": _se(_LINEAR, _GATE_OK, header='''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"{channels} channels with reduction {reduction} leave no hidden units")
''')}, loses={"test_se_structure"}),
    "error_message_without_values": Wrong({"se_block": _se(_LINEAR, _GATE_OK, header='''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if reduction < 1 or channels // reduction < 1:
            raise ValueError("no hidden units")
        hidden = channels // reduction
''')}, loses={"test_se_structure"}),
    "params_formula_without_floor": Wrong({"se_params": """
def se_added_parameters(channels_per_block, reduction=16, bias=True):
    return sum(2 * C * C / reduction + ((C / reduction + C) if bias else 0) for C in channels_per_block)
"""}, loses={"test_se_params"}),
    # Cheating: the answer key imported, subclassed, wrapped or built by the factory.
    "cheat_import_reference": Wrong({"se_block": """
from attn_course.modules import SEBlock
"""}, loses=_SE_CELLS),
    "cheat_subclass_reference": Wrong({"se_block": """
from attn_course.modules import se as _se_module

class SEBlock(_se_module.SEBlock):
    pass
"""}, loses=_SE_CELLS),
    "cheat_wrap_reference": Wrong({"se_block": """
import attn_course.modules

class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        inner = attn_course.modules.SEBlock(channels, reduction=reduction)
        self.fc1, self.fc2 = inner.fc1, inner.fc2
        object.__setattr__(self, "inner", [inner])

    def gate(self, x):
        return self.inner[0].gate(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_SE_CELLS),
    "cheat_create_attention": Wrong({"se_block": """
from attn_course import create_attention

def SEBlock(channels, reduction=16):
    return create_attention("se", channels, reduction=reduction)
"""}, loses=_SE_CELLS),
    # Cheating: a wrong block, with the tests disarmed first.
    **cheats.tampering_cases("se_block", _NO_SIGMOID, loses=_SE_CELLS | {"test_se_params"}),
}

CORRECT = {
    "conv1x1_and_keepdim_mean": {"se_block": _se("""        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=True)
""", """        z = x.mean(dim=(2, 3), keepdim=True)
        return self.fc2(self.fc1(z).clamp(min=0)).sigmoid()
""")},
    "functional_einsum": {"squeeze": """
import torch.nn.functional as F

def squeeze(x):
    return F.adaptive_avg_pool2d(x, 1).flatten(1)
""", "se_block": _se("""        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
""", """        z = torch.einsum("bchw->bc", x) / (x.shape[2] * x.shape[3])
        h = F.relu(F.linear(z, self.fc1.weight, self.fc1.bias))
        s = 1 / (1 + torch.exp(-F.linear(h, self.fc2.weight, self.fc2.bias)))
        return s.view(*s.shape, 1, 1)
""", forward="return self.gate(x).expand_as(x) * x"), "se_params": """
def se_added_parameters(channels_per_block, reduction=16, bias=True):
    weights = sum(2 * c * (c // reduction) for c in channels_per_block)
    biases = sum(c // reduction + c for c in channels_per_block)
    return weights + (biases if bias else 0)
"""},
    "sequential_mlp_inside": {"se_block": _se("""        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.mlp = nn.Sequential(self.fc1, nn.ReLU(), self.fc2, nn.Sigmoid())
""", """        return self.mlp(squeeze(x)).unsqueeze(-1).unsqueeze(-1)
""")},
    "adaptive_pool_and_helper_class": {"squeeze": """
def squeeze(x):
    return torch.nn.functional.adaptive_avg_pool2d(x, (1, 1)).reshape(x.shape[0], x.shape[1])
""", "se_block": '''
class Excitation(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)


class SEBlock(nn.Module):
    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if not (isinstance(reduction, int) and reduction >= 1):
            raise ValueError(f"reduction must be an int >= 1, got reduction={reduction} (channels={channels})")
        if channels // reduction == 0:
            raise ValueError(f"channels={channels} // reduction={reduction} is 0: no hidden unit")
        mlp = Excitation(channels, channels // reduction)
        self.fc1, self.fc2 = mlp.fc1, mlp.fc2

    def gate(self, x):
        z = squeeze(x)
        return rearrange(torch.sigmoid(self.fc2(nn.functional.relu(self.fc1(z)))), "b c -> b c 1 1")

    def forward(self, x):
        return torch.mul(x, self.gate(x))
'''},
}

# A cell that never finishes must cost only the points of the tests that need it.
HANGS = {"se_params": """
def se_added_parameters(channels_per_block, reduction=16, bias=True):
    while True:
        pass
"""}
HANG_LOSES = {"test_se_params"}

# Found by an outside tester: wrong answers that must lose points, and cheats that must score 0
# where they touch.
_STRICT_INIT = '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if not isinstance(reduction, int) or reduction < 1 or channels // reduction < 1:
            raise ValueError(f"no hidden unit: channels={channels}, reduction={reduction}")
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
'''
_LIAR = cheats.LIAR_TENSOR
_BLANK_TESTS = cheats.BLANK_TESTS
_SWALLOW_ERRORS = cheats.SWALLOW_ERRORS
_WRONG_SQUEEZE = '''
def squeeze(x):
    return x.amax(dim=(2, 3))
'''

WRONG.update({
    "error_message_without_the_rule": Wrong({"se_block": _se(_LINEAR, _GATE_OK, header='''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if not isinstance(reduction, int) or reduction < 1 or channels // reduction < 1:
            raise ValueError(f"invalid arguments: {channels}, {reduction}")
        hidden = channels // reduction
''')}, loses={"test_se_structure"}),
    "accepts_a_fractional_reduction": Wrong({"se_block": _se(_LINEAR, _GATE_OK, header='''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if reduction <= 0 or channels // reduction == 0:
            raise ValueError(f"no hidden unit: channels={channels}, reduction={reduction}")
        hidden = int(channels // reduction)
''')}, loses={"test_se_structure"}),
    "cheat_input_transformer": Wrong({"squeeze": _BLANK_TESTS + _WRONG_SQUEEZE, "se_block": _NO_SIGMOID},
                                     loses=_SE_CELLS | {"test_squeeze", "test_se_params"}),
    "cheat_ast_transformer_swallows_errors": Wrong(
        {"squeeze": _SWALLOW_ERRORS + _WRONG_SQUEEZE, "se_block": _NO_SIGMOID},
        loses=_SE_CELLS | {"test_squeeze", "test_se_params"}),
    "cheat_tensor_subclass_lies": Wrong({"se_block": _LIAR + _se(_LINEAR, """        s = torch.sigmoid(self.fc2(self.fc1(x.mean(dim=(2, 3)))))
        return s[:, :, None, None].as_subclass(_Liar)
""", forward="return (x * self.gate(x)).as_subclass(_Liar)")}, loses=_SE_CELLS),
    "cheat_number_that_equals_anything": Wrong(
        {"se_params": cheats.always_equal("se_added_parameters(channels_per_block, reduction=16, bias=True)")},
        loses={"test_se_params"}),
    "cheat_reference_counts_the_parameters": Wrong({"se_params": '''
from attn_course import create_attention

def se_added_parameters(channels_per_block, reduction=16, bias=True):
    return sum(sum(p.numel() for p in create_attention("se", c, reduction=reduction, bias=bias).parameters())
               for c in channels_per_block)
'''}, loses={"test_se_params"}),
    "cheat_reference_called_at_run_time": Wrong({"se_block": _STRICT_INIT + '''
    def gate(self, x):
        module = __import__("attn_course.modules.se", fromlist=["SEBlock"])
        return module.SEBlock.gate(self, x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_SE_CELLS),
    "cheat_partialmethod_of_the_reference": Wrong({"se_block": '''
import functools

def _reference():
    return __import__("attn_course.modules.se", fromlist=["SEBlock"]).SEBlock
''' + _STRICT_INIT + '''
    gate = functools.partialmethod(_reference().gate)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_SE_CELLS),
    "cheat_borrows_the_tests_definition": Wrong({"se_block": _se(_LINEAR, """        out = se_by_definition(x, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias)
        return (out / x)[:, :, :1, :1]
""", forward="return se_by_definition(x, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias)")},
        loses=_SE_CELLS),
})
