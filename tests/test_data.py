"""attn_course.data: the bundled photos and the hand-designed feature map."""

from importlib import resources

import pytest
import torch

from attn_course.data import (
    BANK_SIZE, VALID_STRIDES, feature_names, load_photo, photo_feature_map, photo_names,
)


def test_photos_are_package_resources():
    folder = resources.files("attn_course.data")
    for name in photo_names():
        assert folder.joinpath(f"{name}.png").is_file()
    assert folder.joinpath("SOURCES.md").is_file()


@pytest.mark.parametrize("name, size", [("astronaut", (256, 256)), ("coffee", (192, 288))])
def test_load_photo(name, size):
    photo = load_photo(name)
    assert photo.shape == (3, *size) and photo.dtype == torch.float32
    assert 0 <= float(photo.min()) and float(photo.max()) <= 1
    assert float(photo.std()) > 0.1                     # a real picture, not a flat image


def test_load_photo_returns_a_fresh_tensor():
    photo = load_photo()
    photo.zero_()
    assert float(load_photo().max()) > 0


def test_unknown_photo_lists_the_names():
    with pytest.raises(ValueError, match="astronaut.*coffee"):
        load_photo("lena")


@pytest.mark.parametrize("channels, stride, name, batch", [
    (64, 8, "astronaut", 1), (16, 32, "coffee", 2), (96, 16, "astronaut", 3),
])
def test_feature_map_shape_and_values(channels, stride, name, batch):
    _, height, width = load_photo(name).shape
    f = photo_feature_map(channels, stride, name=name, batch=batch)
    assert f.shape == (batch, channels, height // stride, width // stride)
    assert f.dtype == torch.float32
    assert bool(torch.isfinite(f).all()) and float(f.min()) >= 0
    rms = f.pow(2).mean(dim=(-2, -1)).sqrt()
    torch.testing.assert_close(rms, torch.ones_like(rms))   # every channel alive and scaled


def test_feature_map_is_bitwise_deterministic():
    assert torch.equal(photo_feature_map(80, 16), photo_feature_map(80, 16))


def test_prefix_and_batch_structure():
    full = photo_feature_map(64, 16, batch=3)
    torch.testing.assert_close(photo_feature_map(10, 16)[0], full[0, :10], rtol=0, atol=0)
    assert torch.equal(full[0], full[2])                 # even samples: the photo
    assert not torch.equal(full[0], full[1])             # odd samples: its mirror image


def test_channels_respond_to_what_their_names_say():
    f = photo_feature_map(64, 8)[0]
    names = feature_names(64)
    reddish = names.index("colour: reddish (red minus green > 0)")
    # The orange space suit fills the lower left of the astronaut photo.
    assert f[reddish, 20:, :12].mean() > 2 * f[reddish, :12, :].mean()


def test_feature_names():
    names = feature_names(70)
    assert len(names) == 70 and len(set(names)) == 70
    assert len(feature_names(64)) == BANK_SIZE == 64
    assert all("mix" not in n for n in names[:BANK_SIZE])
    assert all("random mixture" in n for n in names[BANK_SIZE:])
    assert any("edge" in n for n in names) and any("blob" in n for n in names)


@pytest.mark.parametrize("kwargs, message", [
    (dict(channels=0), "channels must be an integer from 1"),
    (dict(channels=2.0), "channels must be an integer from 1"),
    (dict(stride=3), r"stride must be one of \(1, 2, 4, 8, 16, 32\)"),
    (dict(name="cat"), "bundled photos"),
    (dict(batch=0), "batch must be a positive integer"),
])
def test_feature_map_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        photo_feature_map(**kwargs)


def test_strides_divide_every_photo():
    for name in photo_names():
        _, height, width = load_photo(name).shape
        assert all(height % s == 0 and width % s == 0 for s in VALID_STRIDES)
