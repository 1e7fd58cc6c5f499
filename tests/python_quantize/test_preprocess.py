"""cvm.preprocess: the model.json input transform (numpy and PIL only, no torch)."""
import numpy as np
import pytest

from cvm import preprocess


def test_mnist_values_round_half_away_and_clamp():
    meta = {"cvm_model_meta": 1, "input": {"color": "gray", "resize": 0, "crop": [2, 2],
                                           "mean": [100.0], "std": [50.0], "scale": 10.0}}
    img = np.array([[100, 102.5], [97.5, 255]])   # scaled: 0, 0.5, -0.5, 31
    x = preprocess.from_meta(img, meta)
    assert x.dtype == np.int8 and x.shape == (1, 1, 2, 2)
    assert x.tolist() == [[[[0, 1], [-1, 31]]]]
    meta["input"]["scale"] = 100.0
    assert preprocess.from_meta(img, meta).tolist() == [[[[0, 5], [-5, 127]]]]


def test_imagenet_resizes_crops_and_normalises_rgb():
    rgb = np.full((256, 300, 3), [123.68, 116.779, 103.939], dtype=np.float64)
    rgb[:, :, 0] += 58.393          # one standard deviation above the mean in red
    x = preprocess.transform(rgb.astype(np.uint8), "imagenet", scale=32.0)
    assert x.shape == (1, 3, 224, 224)
    # uint8 rounding moves the values a little: red ~ +1 sd, green/blue ~ 0.
    assert abs(int(x[0, 0, 100, 100]) - 32) <= 1
    assert abs(int(x[0, 1, 100, 100])) <= 1 and abs(int(x[0, 2, 100, 100])) <= 1


def test_gray_from_rgb_uses_luma_and_rgb_from_gray_repeats():
    meta = {"input": {"color": "gray", "resize": 0, "crop": None, "mean": [0.0], "std": [1.0],
                      "scale": 0.5}}
    rgb = np.zeros((1, 1, 3))
    rgb[0, 0] = [100, 200, 0]       # luma 0.299 * 100 + 0.587 * 200 = 147.3
    assert preprocess.from_meta(rgb[None], meta).tolist() == [[[[74]]]]
    meta["input"].update(color="rgb", mean=[0.0] * 3, std=[1.0] * 3)
    assert preprocess.from_meta(np.full((1, 1), 60.0), meta).tolist() == [[[[30]], [[30]], [[30]]]]


def test_crop_larger_than_image_is_an_error():
    meta = {"input": {"color": "gray", "resize": 0, "crop": [28, 28], "mean": [0.0],
                      "std": [1.0], "scale": 1.0}}
    with pytest.raises(ValueError, match="smaller than the crop"):
        preprocess.from_meta(np.zeros((20, 20)), meta)
