"""Conditional GAN generator and discriminator: keras-io's `conditional_gan`, with a tanh output.

Both nets take the class label as an int32 id (B,) and one-hot encode it themselves, so the
exported generator's signature is simply (z, label).

Generator: concat(z, one_hot(label)) (B, z_dim + K) -> Dense(b*b*g_filters) + LeakyReLU ->
(B, b, b, g_filters) -> `generator_stages` x [Conv2DTranspose(g_filters, 4, s2) + LeakyReLU] ->
Conv2D(channels, 7) + tanh. At 28 px b = 7 and there are 2 stages (7 -> 14 -> 28), exactly
keras-io's net (except its Dense width, 7*7*(z_dim + K), and its sigmoid); 32 px starts at 8x8;
64 px adds a third stage from 8x8.

Discriminator: image (B, S, S, C) concatenated with one_hot(label) broadcast to (B, S, S, K) ->
`generator_stages` x [Conv2D(d_filters * 2**i, 3, s2) + LeakyReLU(0.2)] -> GlobalMaxPooling ->
Dense(1) logit. At 28 px: Conv2D(64) and Conv2D(128), keras-io's discriminator.
No BatchNorm anywhere, as in keras-io: inference mode and training mode compute the same thing.
"""

from __future__ import annotations

import keras
from keras import layers

from gans.configs.cgan import CGANConfig

LEAK = 0.2  # keras-io's LeakyReLU slope in both nets
G_KERNEL = 4  # the transposed convs'
D_KERNEL = 3
OUT_KERNEL = 7  # the last conv: a wide window that smooths the up-sampling's checkerboard


def _label_input(num_classes: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """Return the label input (B,) int32 and its one-hot encoding (B, K)."""
    label = keras.Input(shape=(), dtype="int32", name="label")
    one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(label)
    return label, one_hot


def build_generator(config: CGANConfig) -> keras.Model:
    """Build G: [z (B, z_dim), label (B,)] -> images (B, S, S, C) in [-1, 1]."""
    z = keras.Input(shape=(config.z_dim,), name="z")
    label, one_hot = _label_input(config.num_classes)
    x = layers.Concatenate(name="z_and_label")([z, one_hot])  # (B, z_dim + K)
    base = config.image_size // 2**config.generator_stages  # 7 at 28 px, 8 at 32 and 64
    x = layers.Dense(base * base * config.g_filters, name="project")(x)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.Reshape((base, base, config.g_filters))(x)  # (B, b, b, g_filters)
    for stage in range(config.generator_stages):
        x = layers.Conv2DTranspose(config.g_filters, G_KERNEL, strides=2, padding="same",
                                   name=f"up{stage + 1}")(x)  # (B, 2h, 2w, g_filters)
        x = layers.LeakyReLU(LEAK)(x)
    x = layers.Conv2D(config.channels, OUT_KERNEL, padding="same", name="to_image")(x)  # (B, S, S, C)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model([z, label], images, name="generator")


def build_discriminator(config: CGANConfig) -> keras.Model:
    """Build D: [images (B, S, S, C) in [-1, 1], label (B,)] -> one real/fake logit (B, 1)."""
    size = config.image_size
    images = keras.Input(shape=(size, size, config.channels), name="images")
    label, one_hot = _label_input(config.num_classes)
    # The label as K constant planes: a 1x1 map up-sampled (nearest) to the image size.
    planes = layers.Reshape((1, 1, config.num_classes))(one_hot)
    planes = layers.UpSampling2D(size, name="label_planes")(planes)  # (B, S, S, K)
    x = layers.Concatenate(name="image_and_label")([images, planes])  # (B, S, S, C + K)
    for stage in range(config.generator_stages):
        x = layers.Conv2D(config.d_filters * 2**stage, D_KERNEL, strides=2, padding="same",
                          name=f"conv{stage + 1}")(x)  # (B, h/2, w/2, filters)
        x = layers.LeakyReLU(LEAK)(x)
    x = layers.GlobalMaxPooling2D()(x)  # (B, last_filters)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model([images, label], logit, name="discriminator")
