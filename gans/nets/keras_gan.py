"""The generator and discriminator of Chollet's Keras GAN ("Deep Learning with Python", 1st ed., 8.5).

The book trained them on the CIFAR-10 frogs at 32x32: G maps a 32-d latent to a 16x16x128 map,
convolves, up-samples once with a stride-2 transposed conv and convolves twice more; D is four
unpadded convolutions, three of them stride 2, then dropout and one sigmoid unit. Neither net has
BatchNorm. Both use Keras' default initialisers (Glorot-uniform kernels, zero biases), as the book did.

At other sizes the same layers apply: G starts at image_size / 2, and D's unpadded convs shrink
32 -> 30 -> 14 -> 6 -> 2 (64 -> 62 -> 30 -> 14 -> 6).
"""

from __future__ import annotations

import keras
from keras import layers

from gans.configs.keras_gan import KerasGANConfig

# The book writes LeakyReLU() with no argument, i.e. Keras 2's default slope of 0.3 (Keras 3 keeps
# 0.3 as the default of LeakyReLU's negative_slope); it is spelled out here so it cannot drift.
LEAK = 0.3
G_CHANNELS = 128  # channels of G's first (image_size / 2) map
WIDTH = 256  # channels of G's convolutions
D_WIDTH = 128  # channels of D's convolutions


def build_generator(config: KerasGANConfig) -> keras.Model:
    """Build G: z (B, latent_dim) -> images (B, S, S, channels) in [-1, 1]."""
    side = config.image_size // 2  # 16 at 32 px
    z = keras.Input(shape=(config.latent_dim,), name="z")
    x = layers.Dense(G_CHANNELS * side * side, name="project")(z)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.Reshape((side, side, G_CHANNELS))(x)  # (B, 16, 16, 128)
    x = layers.Conv2D(WIDTH, 5, padding="same", name="conv1")(x)  # (B, 16, 16, 256)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.Conv2DTranspose(WIDTH, 4, strides=2, padding="same", name="up")(x)  # (B, 32, 32, 256)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.Conv2D(WIDTH, 5, padding="same", name="conv2")(x)  # (B, 32, 32, 256)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.Conv2D(WIDTH, 5, padding="same", name="conv3")(x)  # (B, 32, 32, 256)
    x = layers.LeakyReLU(LEAK)(x)
    images = layers.Conv2D(config.channels, 7, padding="same", activation="tanh", dtype="float32",
                           name="images")(x)  # (B, 32, 32, channels)
    return keras.Model(z, images, name="generator")


def build_discriminator(config: KerasGANConfig) -> keras.Model:
    """Build D: images (B, S, S, channels) in [-1, 1] -> a probability (B, 1); see the model for its meaning."""
    images = keras.Input(shape=(config.image_size, config.image_size, config.channels), name="images")
    x = layers.Conv2D(D_WIDTH, 3, name="conv1")(images)  # 'valid' padding: (B, 30, 30, 128)
    x = layers.LeakyReLU(LEAK)(x)
    for i in range(2, 5):
        x = layers.Conv2D(D_WIDTH, 4, strides=2, name=f"conv{i}")(x)  # (B, 14|6|2, 14|6|2, 128)
        x = layers.LeakyReLU(LEAK)(x)
    x = layers.Flatten()(x)  # (B, 2 * 2 * 128)
    # The seed makes D's masks a function of config.seed; the model checkpoints the layer's
    # seed state, so a resumed run draws the same masks as an uninterrupted one.
    x = layers.Dropout(config.dropout, seed=config.seed, name="dropout")(x)
    probability = layers.Dense(1, activation="sigmoid", dtype="float32", name="probability")(x)
    return keras.Model(images, probability, name="discriminator")
