"""DCGAN generator and discriminator (the CatDCGAN recipe, generalised over image size).

Generator rule (the CatDCGAN notebook's): z -> Dense -> 8x8 x g_filters + LeakyReLU, then
`generator_stages` stride-2 transposed convs (log2(image_size / 8) of them), each halving the
channels, with BatchNorm + LeakyReLU, then a stride-1 transposed conv to RGB + tanh. At 128 px
with the recipe's widths: 8x8x1024 -> 16x16x512 -> 32x32x256 -> 64x64x128 -> 128x128x64 ->
128x128x3; 64 px drops the 64-channel stage ("one stage fewer") and 32 px the 128-channel one.

Discriminator rule: convs whose channels double from d_filters, all stride 2 except the
second-to-last (stride 1), as many stride-2 convs as it takes to reach an 8x8 map
(log2(image_size / 8)), then Flatten -> Dense -> 1 logit. At 128 px that is exactly the recipe's
64(s2) 128(s2) 256(s2) 512(s1) 1024(s2); each halving of the image size drops one stride-2 stage.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gans.configs.dcgan import DCGANConfig
from gans.replicas import replicated

BN_EPSILON = 1e-5  # the recipe's (TF1's) value; Keras' default is 1e-3
# PyTorch's DCGAN value (its momentum=0.1). With Keras' 0.99 the moving statistics, which samples
# and exports use, take ~1000 steps to forget their initial variance of 1 and early samples
# come out washed-out grey.
BN_MOMENTUM = 0.9
LEAK = 0.2
FINAL_D_SIZE = 8  # the discriminator always ends on an 8x8 feature map
START = 8  # the generator's first feature map is 8x8, as in the recipe


def _init() -> keras.initializers.Initializer:
    """Return the DCGAN paper's N(0, 0.02) weight init."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batch_norm(name: str) -> layers.BatchNormalization:
    """Return a BatchNormalization layer with the recipe's epsilon and a fast momentum; built for several
    replicas, its statistics are the global batch's (gans.replicas)."""
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=replicated(), name=name)


def build_generator(config: DCGANConfig) -> keras.Model:
    """Build G: z (B, z_dim) -> images (B, S, S, 3) in [-1, 1]."""
    z = keras.Input(shape=(config.z_dim,), name="z")
    x = layers.Dense(START * START * config.g_filters, kernel_initializer=_init(), name="project")(z)
    x = layers.Reshape((START, START, config.g_filters))(x)  # (B, 8, 8, g_filters)
    x = layers.LeakyReLU(LEAK)(x)
    filters = config.g_filters
    for stage in range(config.generator_stages):
        filters //= 2
        # Bias is redundant before BatchNorm, which subtracts the mean.
        x = layers.Conv2DTranspose(filters, config.kernel_size, strides=2, padding="same",
                                   use_bias=False, kernel_initializer=_init(),
                                   name=f"up{stage + 1}")(x)  # (B, 2h, 2w, filters)
        x = _batch_norm(f"up{stage + 1}_bn")(x)
        x = layers.LeakyReLU(LEAK)(x)
    x = layers.Conv2DTranspose(3, config.kernel_size, strides=1, padding="same",
                               kernel_initializer=_init(), name="to_rgb")(x)  # (B, S, S, 3)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name="generator")


def discriminator_plan(image_size: int, d_filters: int) -> list[tuple[int, int]]:
    """Return (filters, stride) per conv, following the rule in the module docstring."""
    downs = int(math.log2(image_size // FINAL_D_SIZE))  # 4 at 128 px, 3 at 64, 2 at 32
    strides = [2] * downs
    strides.insert(downs - 1, 1)  # the recipe's stride-1 conv sits just before the last one
    return [(d_filters * 2**i, s) for i, s in enumerate(strides)]


def build_discriminator(config: DCGANConfig) -> keras.Model:
    """Build D: images (B, S, S, 3) in [-1, 1] -> one real/fake logit (B, 1).

    With spectral_norm every conv and the dense layer are wrapped in keras' SpectralNormalization
    (its power-iteration vector is a non-trainable weight, so checkpoints carry it) and D drops its
    BatchNorm, as SNGAN does: the two fight over the layers' scale. Without BatchNorm every conv has a bias.
    """
    images = keras.Input(shape=(config.image_size, config.image_size, 3), name="images")
    x = images
    for i, (filters, stride) in enumerate(discriminator_plan(config.image_size, config.d_filters)):
        batch_norm = i > 0 and not config.spectral_norm  # never on the input layer: it would normalise the pixels
        conv = layers.Conv2D(filters, config.kernel_size, strides=stride, padding="same",
                             use_bias=not batch_norm, kernel_initializer=_init(), name=f"conv{i + 1}")
        x = _spectral(conv, config)(x)
        if batch_norm:
            x = _batch_norm(f"conv{i + 1}_bn")(x)
        x = layers.LeakyReLU(LEAK)(x)  # (B, h, w, filters)
    x = layers.Flatten()(x)  # (B, 8 * 8 * last_filters)
    dense = layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logit")
    logit = _spectral(dense, config)(x)
    return keras.Model(images, logit, name="discriminator")


def _spectral(layer: layers.Layer, config: DCGANConfig) -> layers.Layer:
    """Return layer wrapped in SpectralNormalization when the config asks for it, else layer itself."""
    if not config.spectral_norm:
        return layer
    # the wrapper computes in its layer's dtype: D's float32 logit stays float32 under a mixed policy
    return layers.SpectralNormalization(layer, power_iterations=1, dtype=layer.dtype_policy, name=f"{layer.name}_sn")
