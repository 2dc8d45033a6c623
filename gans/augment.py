"""DiffAugment (Zhao et al., 2020): differentiable augmentations applied to every image D sees.

Augmenting real AND fake images (and letting G's gradient flow through the augmentation) keeps D
from memorising a small data set without leaking the augmentations into G's samples. The random
draws come from a caller-owned tf.random.Generator so a checkpointed run replays them exactly.
"""

from __future__ import annotations

import tensorflow as tf

TRANSLATION_RATIO = 0.125  # shift by up to 1/8 of the image side
CUTOUT_RATIO = 0.5  # erase a square half the image side


def diff_augment(images: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Apply colour, translation and cutout, drawn per image, to images (B, H, W, C) in [-1, 1]."""
    x = _colour(images, rng)
    x = _translation(x, rng)
    return _cutout(x, rng)


def _colour(x: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Jitter brightness, saturation and contrast."""
    batch = tf.shape(x)[0]
    x = x + (rng.uniform([batch, 1, 1, 1]) - 0.5)  # brightness in [-0.5, 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)  # (B, H, W, 1) grey level
    x = (x - mean) * (rng.uniform([batch, 1, 1, 1]) * 2.0) + mean  # saturation x[0, 2)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)  # (B, 1, 1, 1)
    return (x - mean) * (rng.uniform([batch, 1, 1, 1]) + 0.5) + mean  # contrast x[0.5, 1.5)


def _shift_axis(x: tf.Tensor, shift: tf.Tensor, axis: int) -> tf.Tensor:
    """Shift each image along axis (1 = rows, 2 = columns) by shift (B,), filling with zeros."""
    size = tf.shape(x)[axis]
    source = tf.range(size)[tf.newaxis, :] - shift[:, tf.newaxis]  # (B, size) index to read
    inside = (source >= 0) & (source < size)
    gathered = tf.gather(x, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    mask_shape = [-1, size, 1, 1] if axis == 1 else [-1, 1, size, 1]
    return gathered * tf.reshape(tf.cast(inside, x.dtype), mask_shape)


def _translation(x: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Shift every image by up to TRANSLATION_RATIO of its side, per image and axis."""
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    for axis, side in ((1, height), (2, width)):
        limit = tf.cast(tf.cast(side, tf.float32) * TRANSLATION_RATIO + 0.5, tf.int32)
        shift = rng.uniform([batch], minval=-limit, maxval=limit + 1, dtype=tf.int32)
        x = _shift_axis(x, shift, axis)
    return x


def _cutout(x: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Zero a square of CUTOUT_RATIO of the side at a random centre in each image."""
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    masks = []
    for side in (height, width):
        cut = tf.cast(tf.cast(side, tf.float32) * CUTOUT_RATIO + 0.5, tf.int32)
        start = rng.uniform([batch, 1], maxval=side, dtype=tf.int32) - cut // 2  # (B, 1)
        index = tf.range(side)[tf.newaxis, :]  # (1, side)
        masks.append((index >= start) & (index < start + cut))  # (B, side) inside the square
    inside = masks[0][:, :, tf.newaxis] & masks[1][:, tf.newaxis, :]  # (B, H, W)
    return x * tf.cast(~inside, x.dtype)[..., tf.newaxis]
