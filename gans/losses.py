"""The losses the GANs share, and DCGAN's choice of adversarial loss and R1 penalty.

Each adversarial loss is a pair of functions of D's logits (B, 1):
- `nonsaturating` (Goodfellow 2014, the DCGAN recipe): D: BCE(real -> label_smoothing) + BCE(fake -> 0);
  G: BCE(fake -> 1). The only loss that uses label smoothing.
- `hinge` (Lim & Ye 2017; SNGAN, BigGAN): D: mean(relu(1 - real)) + mean(relu(1 + fake)); G: -mean(fake).
- `ralsgan` (relativistic average least squares, Jolicoeur-Martineau 2018, as in her reference code):
  D: (mean((real - mean(fake) - 1)^2) + mean((fake - mean(real) + 1)^2)) / 2, and G the same with the
  signs of the margins swapped, so G's loss also needs D's logits of real images.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from gans.configs.dcgan import LOSSES

RELATIVISTIC = frozenset({"ralsgan"})  # G's loss needs D's logits of real images too


def sigmoid_bce(logits: tf.Tensor, target: float) -> tf.Tensor:
    """Mean sigmoid cross-entropy of logits (B, ...) against a constant target (1 real, 0 fake, or smoothed)."""
    labels = tf.fill(tf.shape(logits), tf.constant(target, logits.dtype))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def d_loss(loss: str, real_logits: tf.Tensor, fake_logits: tf.Tensor, label_smoothing: float) -> tf.Tensor:
    """Return D's loss of `loss` (one of LOSSES) on its logits of real and fake images."""
    if loss == "nonsaturating":
        return sigmoid_bce(real_logits, label_smoothing) + sigmoid_bce(fake_logits, 0.0)
    if loss == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
    if loss == "ralsgan":
        return _ralsgan(real_logits, fake_logits)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def g_loss(loss: str, fake_logits: tf.Tensor, real_logits: tf.Tensor | None = None) -> tf.Tensor:
    """Return G's loss of `loss` on D's logits of fakes (and of reals, for a relativistic loss)."""
    if loss == "nonsaturating":
        return sigmoid_bce(fake_logits, 1.0)
    if loss == "hinge":
        return -tf.reduce_mean(fake_logits)
    if loss == "ralsgan":
        return _ralsgan(fake_logits, real_logits)  # the roles swapped: fakes should look "more real"
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _ralsgan(up: tf.Tensor, down: tf.Tensor) -> tf.Tensor:
    """Return the RaLSGAN loss pushing `up` one above down's mean and `down` one below up's mean."""
    return (tf.reduce_mean(tf.square(up - tf.reduce_mean(down) - 1.0))
            + tf.reduce_mean(tf.square(down - tf.reduce_mean(up) + 1.0))) / 2.0


def r1_penalty(discriminator: keras.Model, real: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Return D's logits of `real` and the R1 penalty mean(||dD(x)/dx||^2) / 2 (Mescheder 2018), unweighted."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = discriminator(real, training=True)  # (B, 1)
        total = tf.reduce_sum(logits)  # inside the tape, which must see it computed
    grads = tape.gradient(total, real)  # (B, S, S, C): each image's own gradient (BatchNorm aside)
    return logits, 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
