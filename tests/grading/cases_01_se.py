"""Submissions for 01_se that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases must lose points (and name the
test cells that should catch them); CORRECT cases are written differently from the solution and must
keep full marks.
"""

ASSIGNMENT = "01_se"

_SE_HEADER = '''
class SEBlock(nn.Module):
    """SE block written by a student."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError("no hidden units")
'''


def _se(init_layers: str, gate_body: str, forward: str = "return x * self.gate(x)") -> str:
    return (_SE_HEADER + init_layers + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_LINEAR = """        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
"""
_GATE_OK = """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
"""

WRONG = {
    "missing_sigmoid": {"se_block": _se(_LINEAR, """        s = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3)))))
        return s[:, :, None, None]
""")},
    "returns_gate": {"se_block": _se(_LINEAR, _GATE_OK, forward="return self.gate(x)")},
    "relu_sigmoid_swapped": {"se_block": _se(_LINEAR, """        s = torch.relu(self.fc2(torch.sigmoid(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
""")},
    "pools_over_channels": {"squeeze": """
def squeeze(x):
    return x.mean(dim=1)
"""},
    "max_instead_of_mean": {"squeeze": """
def squeeze(x):
    return x.amax(dim=(2, 3))
""", "se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.amax(dim=(2, 3))))))
        return s[:, :, None, None]
""")},
    "transposed_weight": {"se_block": _se(
        """        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
""", """        z = x.mean(dim=(2, 3))
        h = torch.relu(z @ self.fc2.weight + self.fc1.bias)
        s = torch.sigmoid(h @ self.fc1.weight + self.fc2.bias)
        return s[:, :, None, None]
""")},
    "no_bias": {"se_block": _se("""        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)
""", _GATE_OK)},
    "ignores_reduction_argument": {"se_block": _se("""        self.fc1 = nn.Linear(channels, max(channels // 16, 1))
        self.fc2 = nn.Linear(max(channels // 16, 1), channels)
""", _GATE_OK)},
    "softmax_over_channels": {"se_block": _se(_LINEAR, """        s = torch.softmax(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))), dim=1)
        return s[:, :, None, None]
""")},
    "sum_instead_of_mean": {"squeeze": """
def squeeze(x):
    return x.sum(dim=(2, 3))
""", "se_block": _se(_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.sum(dim=(2, 3))))))
        return s[:, :, None, None]
""")},
    "params_formula_without_floor": {"se_params": """
def se_added_parameters(channels_per_block, reduction=16, bias=True):
    return sum(2 * C * C / reduction + ((C / reduction + C) if bias else 0) for C in channels_per_block)
"""},
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
}

# A cell that never finishes must cost only the points of the tests that need it.
HANGS = {"se_params": """
def se_added_parameters(channels_per_block, reduction=16, bias=True):
    while True:
        pass
"""}
HANG_LOSES = {"test_se_params"}
