"""Submissions for 03_cbam that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

CBAM is built from the student's own ChannelAttention and SpatialAttention, so a wrong part also
costs the CBAM tests (``_CBAM``) wherever CBAM's numbers or structure show it.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "03_cbam"

# --------------------------------------------------------------------------------- ChannelAttention
_CA_HEADER = '''
class ChannelAttention(nn.Module):
    """Channel gate written by a student."""

    def __init__(self, channels, *, reduction=16):
        super().__init__()
        if not isinstance(reduction, int) or reduction < 1 or channels // reduction < 1:
            raise ValueError(f"channels={channels} with reduction={reduction} leaves no hidden unit")
        hidden = channels // reduction
'''


def _ca(init_layers: str, gate_body: str, forward: str = "return x * self.gate(x)",
        header: str = _CA_HEADER) -> str:
    return (header + init_layers + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_CA_LINEAR = """        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
"""
_CA_GATE_OK = """        avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(avg))) + self.fc2(torch.relu(self.fc1(peak))))
        return s[:, :, None, None]
"""
_CA_PRODUCT = _ca(_CA_LINEAR, """        avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(avg))) * self.fc2(torch.relu(self.fc1(peak))))
        return s[:, :, None, None]
""")

# --------------------------------------------------------------------------------- SpatialAttention
_SA_HEADER = '''
class SpatialAttention(nn.Module):
    """Spatial gate written by a student."""

    def __init__(self, channels, *, kernel_size=7):
        super().__init__()
        if channels < 1 or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"need channels >= 1 and an odd integer kernel_size >= 1, got channels={channels}, "
                             f"kernel_size={kernel_size}")
'''


def _sa(init_layers: str, gate_body: str, forward: str = "return x * self.gate(x)",
        header: str = _SA_HEADER) -> str:
    return (header + init_layers + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_SA_LAYERS = """        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)
"""
_SA_GATE_OK = """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        return torch.sigmoid(self.bn(self.conv(torch.cat([peak, avg], dim=1))))
"""

# --------------------------------------------------------------------------------- CBAM
_CBAM_HEADER = '''
class CBAM(nn.Module):
    """CBAM written by a student."""

    def __init__(self, channels, *, reduction=16, kernel_size=7):
        super().__init__()
'''
_CBAM_PARTS = """        self.channel = ChannelAttention(channels, reduction=reduction)
        self.spatial = SpatialAttention(channels, kernel_size=kernel_size)
"""
_CBAM_MAPS_OK = """        m_c = self.channel.gate(x)
        return {"channel": m_c, "spatial": self.spatial.gate(x * m_c)}
"""


def _cbam(parts: str = _CBAM_PARTS, maps_body: str = _CBAM_MAPS_OK,
          forward: str = "return self.spatial(self.channel(x))") -> str:
    return (_CBAM_HEADER + parts + "\n    def attention_maps(self, x):\n" + maps_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


# --------------------------------------------------------------------------------- PeakGate (fix)
_PEAK_INIT = '''
class PeakGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.shift = nn.Parameter(torch.zeros(1))

    def gate(self, x):
        peak = x.amax(dim=1, keepdim=True)
        mean = x.mean(dim=1, keepdim=True)
        return torch.sigmoid(self.scale * (peak - mean) + self.shift)
'''


def _peak(forward: str) -> str:
    return _PEAK_INIT + "\n    def forward(self, x):\n        " + forward + "\n"


_CHANNEL = {"test_channel_structure", "test_channel_behaviour", "test_channel_reference"}
_SPATIAL = {"test_spatial_structure", "test_spatial_behaviour", "test_spatial_reference"}
_CBAM = {"test_cbam_behaviour", "test_cbam_reference"}
_ALL = _CHANNEL | _SPATIAL | _CBAM | {"test_cbam_params", "test_fix_peak_gate"}

WRONG = {
    # ---- the channel gate
    "two_separate_mlps": Wrong({"channel_attention": _ca(_CA_LINEAR + """        self.fc1_max = nn.Linear(channels, hidden)
        self.fc2_max = nn.Linear(hidden, channels)
""", """        avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(avg))) + self.fc2_max(torch.relu(self.fc1_max(peak))))
        return s[:, :, None, None]
""")}, loses=_CHANNEL | _CBAM),
    "concatenation_instead_of_sum": Wrong({"channel_attention": _ca("""        self.fc1 = nn.Linear(2 * channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
""", """        both = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(both))))[:, :, None, None]
""")}, loses=_CHANNEL | _CBAM),
    "product_instead_of_sum": Wrong({"channel_attention": _CA_PRODUCT},
                                    loses={"test_channel_behaviour", "test_channel_reference",
                                           "test_cbam_reference"}),
    "sigmoid_per_path_then_average": Wrong({"channel_attention": _ca(_CA_LINEAR, """        avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
        s = (torch.sigmoid(self.fc2(torch.relu(self.fc1(avg)))) + torch.sigmoid(self.fc2(torch.relu(self.fc1(peak))))) / 2
        return s[:, :, None, None]
""")}, loses={"test_channel_behaviour", "test_channel_reference", "test_cbam_reference"}),
    "average_pool_only": Wrong({"channel_attention": _ca(_CA_LINEAR, """        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return s[:, :, None, None]
""")}, loses={"test_channel_behaviour", "test_channel_reference", "test_cbam_reference"}),
    "missing_relu": Wrong({"channel_attention": _ca(_CA_LINEAR, """        avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
        s = torch.sigmoid(self.fc2(self.fc1(avg)) + self.fc2(self.fc1(peak)))
        return s[:, :, None, None]
""")}, loses={"test_channel_reference", "test_cbam_reference"}),
    "channel_gate_pools_over_channels": Wrong({"channel_attention": _ca(_CA_LINEAR, """        avg, peak = x.mean(dim=1), x.amax(dim=1)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(avg))) + self.fc2(torch.relu(self.fc1(peak))))
        return s[:, :, None, None]
""")}, loses={"test_channel_behaviour", "test_channel_reference"} | _CBAM),
    "channel_returns_gate": Wrong({"channel_attention": _ca(_CA_LINEAR, _CA_GATE_OK,
                                                            forward="return self.gate(x)")},
                                  loses={"test_channel_behaviour", "test_channel_reference"} | _CBAM),
    "squeeze_drops_the_batch_of_one": Wrong({"channel_attention": _ca(_CA_LINEAR, """        avg = F.adaptive_avg_pool2d(x, 1).squeeze()
        peak = F.adaptive_max_pool2d(x, 1).squeeze()
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(avg))) + self.fc2(torch.relu(self.fc1(peak))))
        return s.unsqueeze(-1).unsqueeze(-1)
""")}, loses={"test_channel_behaviour", "test_channel_reference"}),
    "no_error_for_reduction_zero": Wrong({"channel_attention": _ca(_CA_LINEAR, _CA_GATE_OK, header='''
class ChannelAttention(nn.Module):
    def __init__(self, channels, *, reduction=16):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"channels={channels} with reduction={reduction} leaves no hidden unit")
''')}, loses={"test_channel_structure", "test_cbam_behaviour"}),
    "error_message_without_values": Wrong({"channel_attention": _ca(_CA_LINEAR, _CA_GATE_OK, header='''
class ChannelAttention(nn.Module):
    def __init__(self, channels, *, reduction=16):
        super().__init__()
        if reduction < 1 or channels // reduction < 1:
            raise ValueError("the reduction leaves no hidden unit")
        hidden = channels // reduction
''')}, loses={"test_channel_structure", "test_cbam_behaviour"}),
    # ---- the spatial gate
    "spatial_stack_mean_first": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        return torch.sigmoid(self.bn(self.conv(torch.cat([avg, peak], dim=1))))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference", "test_cbam_reference"}),
    "spatial_sum_instead_of_mean": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, total = x.amax(dim=1, keepdim=True), x.sum(dim=1, keepdim=True)
        return torch.sigmoid(self.bn(self.conv(torch.cat([peak, total], dim=1))))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference", "test_cbam_reference"}),
    "spatial_gate_pools_over_positions": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, avg = x.amax(dim=(2, 3), keepdim=True), x.mean(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.bn(self.conv(torch.cat([peak, avg], dim=1))))
""")}, loses=_SPATIAL | _CBAM),
    "missing_batchnorm": Wrong({"spatial_attention": _sa("""        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
""", """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        return torch.sigmoid(self.conv(torch.cat([peak, avg], dim=1)))
""")}, loses={"test_spatial_structure", "test_spatial_reference"} | _CBAM),
    "batchnorm_never_applied": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        return torch.sigmoid(self.conv(torch.cat([peak, avg], dim=1)))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference"} | _CBAM),
    "batchnorm_after_the_sigmoid": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        return self.bn(torch.sigmoid(self.conv(torch.cat([peak, avg], dim=1))))
""")}, loses={"test_spatial_reference", "test_cbam_reference"}),
    "batchnorm_always_in_eval_mode": Wrong({"spatial_attention": _sa(_SA_LAYERS, """        peak, avg = x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)
        s = self.conv(torch.cat([peak, avg], dim=1))
        bn = self.bn
        return torch.sigmoid(F.batch_norm(s, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                          training=False, eps=bn.eps))
""")}, loses={"test_spatial_reference", "test_cbam_reference"}),
    "padding_fixed_at_3": Wrong({"spatial_attention": _sa("""        self.conv = nn.Conv2d(2, 1, kernel_size, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1)
""", _SA_GATE_OK)}, loses={"test_spatial_structure", "test_spatial_reference"} | _CBAM),
    "conv_with_bias": Wrong({"spatial_attention": _sa("""        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)
        self.bn = nn.BatchNorm2d(1)
""", _SA_GATE_OK)}, loses=_SPATIAL | _CBAM),
    "no_error_for_an_even_kernel": Wrong({"spatial_attention": _sa(_SA_LAYERS, _SA_GATE_OK, header='''
class SpatialAttention(nn.Module):
    def __init__(self, channels, *, kernel_size=7):
        super().__init__()
        if channels < 1 or kernel_size < 1:
            raise ValueError(f"got channels={channels}, kernel_size={kernel_size}")
''')}, loses={"test_spatial_structure", "test_cbam_behaviour"}),
    # ---- CBAM
    "spatial_before_channel": Wrong({"cbam": _cbam(forward="return self.channel(self.spatial(x))")},
                                    loses=_CBAM),
    "spatial_map_computed_on_x": Wrong({"cbam": _cbam(maps_body="""        return {"channel": self.channel.gate(x), "spatial": self.spatial.gate(x)}
""")}, loses=_CBAM),
    "cbam_ignores_reduction": Wrong({"cbam": _cbam(parts="""        self.channel = ChannelAttention(channels)
        self.spatial = SpatialAttention(channels, kernel_size=kernel_size)
""")}, loses=_CBAM),
    "cbam_ignores_kernel_size": Wrong({"cbam": _cbam(parts="""        self.channel = ChannelAttention(channels, reduction=reduction)
        self.spatial = SpatialAttention(channels)
""")}, loses=_CBAM),
    # ---- parameter count
    "params_without_batchnorm": Wrong({"cbam_params": """
def cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7):
    return sum(2 * C * (C // reduction) + C // reduction + C + 2 * kernel_size ** 2 for C in channels_per_block)
"""}, loses={"test_cbam_params"}),
    "params_without_floor": Wrong({"cbam_params": """
def cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7):
    return sum(2 * C * C / reduction + C / reduction + C + 2 * kernel_size ** 2 + 2 for C in channels_per_block)
"""}, loses={"test_cbam_params"}),
    "params_kernel_fixed_at_7": Wrong({"cbam_params": """
def cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7):
    return sum(2 * C * (C // reduction) + C // reduction + C + 100 for C in channels_per_block)
"""}, loses={"test_cbam_params"}),
    # ---- find and fix
    "fix_still_returns_the_gate": Wrong({"fix_peak_gate": _peak("return self.gate(x)")},
                                        loses={"test_fix_peak_gate"}),
    "fix_adds_the_gate": Wrong({"fix_peak_gate": _peak("return x + self.gate(x)")},
                               loses={"test_fix_peak_gate"}),
    "fix_multiplies_in_place": Wrong({"fix_peak_gate": _peak("return x.mul_(self.gate(x))")},
                                     loses={"test_fix_peak_gate"}),
    "fix_gate_without_gradient": Wrong({"fix_peak_gate": _peak("""with torch.no_grad():
            g = self.gate(x)
        return x * g""")}, loses={"test_fix_peak_gate"}),
    # ---- cheating: the answer key imported, subclassed, wrapped or built by the factory
    "cheat_import_reference": Wrong({"channel_attention": """
from attn_course.modules import ChannelAttention
"""}, loses=_CHANNEL | _CBAM),
    "cheat_subclass_reference": Wrong({"spatial_attention": """
from attn_course.modules import cbam as _reference

class SpatialAttention(_reference.SpatialAttention):
    pass
"""}, loses=_SPATIAL | _CBAM),
    "cheat_wrap_reference": Wrong({"cbam": """
import attn_course.modules

class CBAM(nn.Module):
    def __init__(self, channels, *, reduction=16, kernel_size=7):
        super().__init__()
        inner = attn_course.modules.CBAM(channels, reduction=reduction, kernel_size=kernel_size)
        self.channel, self.spatial = inner.channel, inner.spatial
        object.__setattr__(self, "inner", [inner])

    def attention_maps(self, x):
        m_c = self.inner[0].channel.gate(x)
        return {"channel": m_c, "spatial": self.inner[0].spatial.gate(x * m_c)}

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_CBAM),
    "cheat_create_attention": Wrong({"cbam": """
from attn_course import create_attention

def CBAM(channels, *, reduction=16, kernel_size=7):
    return create_attention("cbam", channels, reduction=reduction, kernel_size=kernel_size)
"""}, loses=_CBAM),
    # ---- cheating: a wrong channel gate, with the tests disarmed first
}

CORRECT = {
    "conv1x1_batched_mlp": {"channel_attention": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels: int, *, reduction: int = 16):
        super().__init__()
        if not isinstance(reduction, int) or not reduction >= 1:
            raise ValueError(f"reduction must be an integer of at least 1, got reduction={reduction} (channels={channels})")
        hidden = channels // reduction
        if hidden == 0:
            raise ValueError(f"channels={channels} // reduction={reduction} is 0: no hidden unit")
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=True)

    def gate(self, x):
        both = torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], dim=0)   # (2B, C, 1, 1)
        logits = self.fc2(F.relu(self.fc1(both)))
        return torch.sigmoid(logits[: x.shape[0]] + logits[x.shape[0]:])

    def forward(self, x):
        return torch.mul(x, self.gate(x))
''', "spatial_attention": '''
class SpatialAttention(nn.Module):
    def __init__(self, channels: int, *, kernel_size: int = 7):
        super().__init__()
        if type(kernel_size) is not int or kernel_size % 2 != 1 or kernel_size <= 0:
            raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
        if channels <= 0:
            raise ValueError(f"channels must be positive, got {channels}")
        self.bn = nn.BatchNorm2d(1, momentum=0.01)
        self.conv = nn.Conv2d(in_channels=2, out_channels=1, kernel_size=kernel_size,
                              padding=(kernel_size - 1) // 2, bias=False)

    def gate(self, x):
        descriptors = torch.cat([torch.max(x, dim=1, keepdim=True)[0], torch.mean(x, dim=1, keepdim=True)], dim=1)
        return self.bn(self.conv(descriptors)).sigmoid()

    def forward(self, x):
        return self.gate(x) * x
''', "cbam": '''
class CBAM(nn.Module):
    def __init__(self, channels, *, reduction=16, kernel_size=7):
        super().__init__()
        self.spatial = SpatialAttention(channels, kernel_size=kernel_size)
        self.channel = ChannelAttention(channels, reduction=reduction)

    def attention_maps(self, x):
        maps = {}
        maps["channel"] = self.channel.gate(x)
        maps["spatial"] = self.spatial.gate(maps["channel"] * x)
        return maps

    def forward(self, x):
        maps = self.attention_maps(x)
        return x * maps["channel"] * maps["spatial"]
''', "cbam_params": """
def cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7):
    mlp = sum(2 * c * (c // reduction) + (c // reduction) + c for c in channels_per_block)
    return mlp + len(channels_per_block) * (2 * kernel_size * kernel_size + 2)
""", "fix_peak_gate": '''
class PeakGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([1.0]))
        self.shift = nn.Parameter(torch.tensor([0.0]))

    def gate(self, x):
        contrast = torch.max(x, dim=1, keepdim=True).values - torch.mean(x, dim=1, keepdim=True)
        return torch.sigmoid(contrast * self.scale + self.shift)

    def forward(self, x):
        return torch.mul(self.gate(x), x)
'''},
    "functional_einsum_and_batch_norm": {"channel_attention": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, *, reduction=16):
        super().__init__()
        hidden = channels // reduction if isinstance(reduction, int) and reduction >= 1 else 0
        if hidden < 1:
            raise ValueError(f"ChannelAttention({channels}, reduction={reduction}): no hidden unit")
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def mlp(self, v):
        return F.linear(F.relu(F.linear(v, self.fc1.weight, self.fc1.bias)), self.fc2.weight, self.fc2.bias)

    def gate(self, x):
        avg = torch.einsum("bchw->bc", x) / (x.shape[2] * x.shape[3])
        peak = x.flatten(2).max(dim=-1).values
        z = self.mlp(avg) + self.mlp(peak)
        return (1 / (1 + torch.exp(-z))).view(*z.shape, 1, 1)

    def forward(self, x):
        return self.gate(x).expand_as(x) * x
''', "spatial_attention": '''
class SpatialAttention(nn.Module):
    def __init__(self, channels, *, kernel_size=7):
        super().__init__()
        for name, value, ok in (("channels", channels, channels >= 1),
                                ("kernel_size", kernel_size, isinstance(kernel_size, int) and kernel_size >= 1 and kernel_size % 2 == 1)):
            if not ok:
                raise ValueError(f"SpatialAttention: invalid {name}={value}")
        self.conv = nn.Conv2d(2, 1, (kernel_size, kernel_size), padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def gate(self, x):
        pair = rearrange([reduce(x, "b c h w -> b h w", "max"), reduce(x, "b c h w -> b h w", "mean")],
                         "two b h w -> b two h w")
        s = F.conv2d(pair, self.conv.weight, padding=self.conv.padding)
        bn = self.bn
        s = F.batch_norm(s, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                         training=self.training, momentum=bn.momentum, eps=bn.eps)
        return torch.sigmoid(s)

    def forward(self, x):
        return x * self.gate(x)
''', "cbam": '''
class CBAM(nn.Module):
    def __init__(self, channels, *, reduction=16, kernel_size=7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction=reduction)
        self.spatial = SpatialAttention(channels, kernel_size=kernel_size)

    def attention_maps(self, x):
        refined = self.channel(x)
        return {"spatial": self.spatial.gate(refined), "channel": self.channel.gate(x)}

    def forward(self, x):
        x = self.channel(x)
        x = self.spatial(x)
        return x
'''},
    "helper_mlp_and_sequential": {"channel_attention": '''
class SharedMLP(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, v):
        return self.fc2(torch.relu(self.fc1(v)))


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, *, reduction: int = 16):
        super().__init__()
        if not isinstance(reduction, int) or reduction <= 0 or channels < reduction:
            raise ValueError(f"reduction={reduction} must be between 1 and channels={channels}")
        shared = SharedMLP(channels, channels // reduction)
        self.fc1, self.fc2 = shared.fc1, shared.fc2
        self.mlp = nn.Sequential(self.fc1, nn.ReLU(), self.fc2)

    def gate(self, x):
        pooled = torch.stack([reduce(x, "b c h w -> b c", "mean"), reduce(x, "b c h w -> b c", "max")])
        return rearrange(self.mlp(pooled).sum(dim=0).sigmoid(), "b c -> b c 1 1")

    def forward(self, x):
        return x * self.gate(x)
''', "spatial_attention": '''
class SpatialAttention(nn.Module):
    def __init__(self, channels: int, *, kernel_size: int = 7):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels={channels}: need at least one channel")
        if not isinstance(kernel_size, int) or kernel_size < 1 or not kernel_size % 2:
            raise ValueError(f"kernel_size={kernel_size}: need a positive odd kernel")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding="same", bias=False)
        self.bn = nn.BatchNorm2d(1)
        self.head = nn.Sequential(self.conv, self.bn, nn.Sigmoid())

    def gate(self, x):
        return self.head(torch.cat([x.max(dim=1, keepdim=True).values, x.mean(dim=1, keepdim=True)], 1))

    def forward(self, x):
        return x * self.gate(x)
''', "fix_peak_gate": '''
class PeakGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.shift = nn.Parameter(torch.zeros(1))

    def gate(self, x):
        peak = reduce(x, "b c h w -> b 1 h w", "max")
        mean = reduce(x, "b c h w -> b 1 h w", "mean")
        return torch.sigmoid(torch.addcmul(self.shift, self.scale, peak - mean))

    def forward(self, x):
        return x * self.gate(x)
'''},
}

# A cell that never finishes must cost only the points of the tests that need it.
HANGS = {"cbam_params": """
def cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7):
    while True:
        pass
"""}
HANG_LOSES = {"test_cbam_params"}

WRONG.update({
    "cheat_number_that_equals_anything": Wrong({"cbam_params": cheats.always_equal(
        "cbam_added_parameters(channels_per_block, reduction=16, kernel_size=7)")},
        loses={"test_cbam_params"}),
})

# Found by a second outside tester: the reference's gate reached through a closure made at
# construction, inside an otherwise honest CBAM.
WRONG.update({
    "cheat_reference_gate_through_a_closure": Wrong({"spatial_attention": '''
from attn_course import create_attention as _ca

def _make(channels, kernel_size):
    ref = _ca("spatial", channels, kernel_size=kernel_size)
    return ref.conv, ref.bn, (lambda self, x: type(ref).gate(self, x))

class SpatialAttention(nn.Module):
    def __init__(self, channels, *, kernel_size=7):
        super().__init__()
        self.conv, self.bn, fn = _make(channels, kernel_size)
        self.channels, self.pool_order = channels, "max_avg"
        self._fn = fn

    def gate(self, x):
        return self._fn(self, x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses={"test_spatial_structure", "test_spatial_behaviour", "test_spatial_reference",
             "test_cbam_behaviour", "test_cbam_reference"}),
})
