"""The losses the GANs share."""

from __future__ import annotations

import tensorflow as tf


def sigmoid_bce(logits: tf.Tensor, target: float) -> tf.Tensor:
    """Mean sigmoid cross-entropy of logits (B, ...) against a constant target (1 real, 0 fake, or smoothed)."""
    labels = tf.fill(tf.shape(logits), tf.constant(target, logits.dtype))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
