"""attn_course.viz: every helper returns a Figure with the right panels and shows nothing."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from attn_course import create_attention, viz  # noqa: E402
from attn_course.registry import available_attention  # noqa: E402
from attn_course.viz import show_attention_maps  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def panels(fig):
    """The axes that draw data (colour bars excluded)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_show_image_rgb_and_grey():
    for img in (torch.rand(3, 8, 10), torch.rand(1, 3, 8, 10), torch.rand(8, 10)):
        fig = viz.show_image(img, title="x")
        assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert plt.get_fignums() == []                       # nothing left open in pyplot


def test_show_feature_maps_grid():
    fmap = torch.rand(2, 20, 6, 6, dtype=torch.float64)
    assert len(viz.show_feature_maps(fmap).axes) == 16
    fig = viz.show_feature_maps(fmap[0], n=5, titles=list("abcde"))
    assert len(fig.axes) == 5 and fig.axes[4].get_title() == "e"
    assert len(viz.show_feature_maps(torch.rand(3, 4, 4), n=16).axes) == 3


def test_show_channel_gate_shapes_and_top():
    gate = torch.sigmoid(torch.randn(1, 12, 1, 1))
    assert len(viz.show_channel_gate(gate).axes) == 1
    fig = viz.show_channel_gate(gate.flatten(), names=[f"c{i}" for i in range(12)], top=3)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    best = torch.argsort(gate.flatten(), descending=True)[:3].tolist()
    assert labels == [f"c{i}" for i in best]


def test_show_spatial_gate_with_and_without_image():
    gate = torch.rand(1, 1, 4, 5)
    fig = viz.show_spatial_gate(gate)
    assert len(panels(fig)) == 1 and len(fig.axes) == 2  # the map and its colour bar
    fig = viz.show_spatial_gate(gate[0, 0], image=torch.rand(3, 16, 20), alpha=0.3)
    assert len(panels(fig)) == 1
    overlay = fig.axes[0].get_images()[-1].get_array()
    assert overlay.shape == (16, 20)                     # upsampled to the image


def test_show_attention_overlay_panels():
    maps = {"a": torch.rand(4, 4), "b": torch.rand(1, 1, 2, 2), "c": torch.rand(1, 4, 4)}
    fig = viz.show_attention_overlay(torch.rand(3, 8, 8), maps)
    assert len(fig.axes) == 4
    assert fig.axes[1].get_title().startswith("a")


def test_accepts_low_precision_and_grad_tensors():
    gate = torch.rand(6, 6, requires_grad=True)
    viz.show_spatial_gate(gate * 1, image=torch.rand(3, 12, 12, dtype=torch.bfloat16))
    viz.show_channel_gate(torch.rand(5, dtype=torch.float16))


def test_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(H, W\).*\(2, 3, 4, 4\)"):
        viz.show_spatial_gate(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"\(C,\).*\(2, 3\)"):
        viz.show_channel_gate(torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\).*\(4, 4\)"):
        viz.show_feature_maps(torch.rand(4, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        viz.show_image([[0.0]])
    with pytest.raises(ValueError, match="alpha"):
        viz.show_spatial_gate(torch.rand(3, 3), alpha=2)


def test_channel_gate_plot_has_title_and_unit_range():
    fig = viz.show_channel_gate(torch.rand(8), title="SE gate, random weights")
    ax = fig.axes[0]
    assert ax.get_title() == "SE gate, random weights"
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "gate value"


@pytest.mark.parametrize("key", available_attention())
def test_show_attention_maps_draws_every_modules_maps(key):
    channels = 64 if key != "shuffle" else 128
    module = create_attention(key, channels).eval()
    photo = torch.rand(3, 40, 48)
    x = torch.randn(2, channels, 10, 12)
    with torch.no_grad():
        maps = module.attention_maps(x)
    fig = show_attention_maps(maps, image=photo)
    assert len(fig.axes) == len(maps)
    titles = [ax.get_title() for ax in fig.axes]
    assert all(any(name in t for t in titles) for name in maps), titles


def test_show_attention_maps_criss_cross_query_and_errors():
    module = create_attention("criss_cross", 16).eval()
    with torch.no_grad():
        maps = module.attention_maps(torch.randn(1, 16, 6, 7))
    fig = show_attention_maps(maps, query=(1, 2))
    assert "pixel (1, 2)" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="query must be a pixel"):
        show_attention_maps(maps, query=(6, 0))
    with pytest.raises(ValueError, match="non-empty dict"):
        show_attention_maps({})
    with pytest.raises(ValueError, match=r"\(B, C, 1, 1\)"):
        show_attention_maps({"odd": torch.rand(3)})
