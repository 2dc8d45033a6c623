"""DiffAugment: shape-preserving, reproducible from the generator state, differentiable."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from gans.augment import diff_augment


def _images() -> tf.Tensor:
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)), tf.float32)


def test_same_generator_state_gives_same_augmentation() -> None:
    first = diff_augment(_images(), tf.random.Generator.from_seed(1))
    second = diff_augment(_images(), tf.random.Generator.from_seed(1))
    assert first.shape == (4, 16, 16, 3)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert not np.allclose(first.numpy(), _images().numpy())


def test_cutout_zeroes_a_square_in_every_image() -> None:
    ones = tf.ones((4, 16, 16, 3))
    out = diff_augment(ones, tf.random.Generator.from_seed(3)).numpy()
    assert ((out == 0).all(axis=-1).sum(axis=(1, 2)) > 0).all()


def test_gradient_flows_through_to_the_images() -> None:
    images = tf.Variable(_images())
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(diff_augment(images, tf.random.Generator.from_seed(2)))
    grad = tape.gradient(loss, images)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
