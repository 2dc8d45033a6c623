"""The minimal fully connected GAN's nets (Goodfellow et al. 2014 in its common Keras form).

G: z -> hidden_layers x (Dense(hidden_units) + LeakyReLU(0.2)) -> Dense(S*S, tanh) -> (S, S, 1).
D: (S, S, 1) -> flatten -> hidden_layers x (Dense(hidden_units) + LeakyReLU(0.2)) -> Dense(1) logit.
At the defaults (28 px, 100-d z, two layers of 128) G has 130k weights and D 117k.
"""

from __future__ import annotations

import keras
from keras import layers

from gans.configs.mlp_gan import MLPGANConfig

LEAK = 0.2


def _hidden(x: keras.KerasTensor, config: MLPGANConfig) -> keras.KerasTensor:
    """Apply the hidden stack: hidden_layers x (Dense(hidden_units) + LeakyReLU)."""
    for i in range(config.hidden_layers):
        x = layers.Dense(config.hidden_units, name=f"hidden{i + 1}")(x)  # (B, hidden_units)
        x = layers.LeakyReLU(LEAK)(x)
    return x


def build_generator(config: MLPGANConfig) -> keras.Model:
    """Build G: z (B, z_dim) -> grey images (B, S, S, 1) in [-1, 1]."""
    side = config.image_size
    z = keras.Input(shape=(config.z_dim,), name="z")
    x = _hidden(z, config)
    x = layers.Dense(side * side, activation="tanh", dtype="float32", name="pixels")(x)  # (B, S*S)
    images = layers.Reshape((side, side, 1), name="images")(x)  # (B, S, S, 1)
    return keras.Model(z, images, name="generator")


def build_discriminator(config: MLPGANConfig) -> keras.Model:
    """Build D: grey images (B, S, S, 1) in [-1, 1] -> one real/fake logit (B, 1)."""
    images = keras.Input(shape=(config.image_size, config.image_size, 1), name="images")
    x = layers.Flatten()(images)  # (B, S*S)
    x = _hidden(x, config)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(images, logit, name="discriminator")
