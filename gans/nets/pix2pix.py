"""pix2pix's U-Net generator and 70x70 PatchGAN discriminator (Isola et al. 2017, appendix 6.1).

Generator (phillipi/pix2pix models.lua `defineG_unet`): log2(image_size) encoder convs, 4x4
stride 2, channels ngf, 2ngf, 4ngf, 8ngf, 8ngf... (8 layers from 256x256 down to 1x1), each
preceded by LeakyReLU 0.2 (but the first) and followed by BatchNorm (but the first and the
innermost); then as many 4x4 stride-2 transposed convs mirror them, each preceded by ReLU and
followed by BatchNorm, dropout 0.5 in the first three, and the mirrored encoder output
concatenated on channels; the last one goes to 3 channels + tanh.

The innermost encoder layer has no BatchNorm, as in the authors' later models.lua (and
pytorch-CycleGAN-and-pix2pix): its map is 1x1, so at batch size 1 BatchNorm sees one value per
channel, normalises it to 0 and outputs beta whatever the input, cutting the bottleneck off.

Discriminator (`defineD_n_layers`, n_layers=3): it sees (input, image) concatenated on channels;
C64 (no norm) - C128 - C256 at stride 2, C512 at stride 1, then a 1-channel conv at stride 1:
one logit per 70x70 patch, a (30, 30, 1) map at 256 px, (14, 14, 1) at 128 and (6, 6, 1) at 64.

Both nets normalise with BatchStatsNorm, BatchNorm without moving averages: pix2pix normalises
with the statistics of the images in front of it, in training and at test time alike.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

KERNEL = 4
LEAK = 0.2
BN_EPSILON = 1e-5  # Torch's and pix2pix-tensorflow's value (Keras' default is 1e-3)
DROPOUT_RATE = 0.5
DROPOUT_LAYERS = 3  # the first three decoder layers; the paper's only source of noise
MAX_FILTER_MULT = 8  # channels stop doubling at 8 * ngf (512)
PATCH_STRIDE_2_LAYERS = 3  # C64-C128-C256 at stride 2; with C512 and the output conv: 70x70


def _init() -> keras.initializers.Initializer:
    """Return the paper's N(0, 0.02) weight init."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


class BatchStatsNorm(layers.Layer):
    """BatchNorm that normalises with the batch's statistics in training, each image's at inference.

    With the recipe's batch size 1 both are the same per-image ("instance") statistics, so
    inference computes exactly what training computed; no moving averages are kept, since pix2pix
    never uses them. With a larger batch, inference still normalises each image on its own, so an
    output never depends on the other images of a request.
    """

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        # N(1, 0.02) scale, as pix2pix's weights_init and pix2pix-tensorflow.
        self.gamma = self.add_weight(shape=(channels,), name="gamma",
                                     initializer=keras.initializers.RandomNormal(1.0, 0.02))
        self.beta = self.add_weight(shape=(channels,), name="beta", initializer="zeros")

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        axes = [0, 1, 2] if training else [1, 2]  # over (B, H, W), or over (H, W) per image
        mean, variance = tf.nn.moments(x, axes=axes, keepdims=True)
        return tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, BN_EPSILON)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape


class RngDropout(layers.Layer):
    """Dropout whose masks come from the model's tf.random.Generator, so checkpoints replay them."""

    def __init__(self, rate: float, rng: tf.random.Generator, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.rng = rng

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training:
            return x  # inference is deterministic: no dropout (see gans/pix2pix.py)
        keep = self.rng.uniform(tf.shape(x), dtype=x.dtype) >= self.rate
        return tf.where(keep, x / (1.0 - self.rate), tf.zeros_like(x))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape


def encoder_filters(image_size: int, ngf: int) -> list[int]:
    """Return the channels of each encoder conv: log2(image_size) of them, down to a 1x1 map."""
    depth = int(math.log2(image_size))
    return [ngf * min(2**i, MAX_FILTER_MULT) for i in range(depth)]


def build_generator(image_size: int, ngf: int, rng: tf.random.Generator) -> keras.Model:
    """Build the U-Net G: input images (B, S, S, 3) in [-1, 1] -> images (B, S, S, 3) in [-1, 1]."""
    image = keras.Input(shape=(image_size, image_size, 3), name="image")
    filters = encoder_filters(image_size, ngf)
    x, skips = image, []
    for i, channels in enumerate(filters):
        norm = 0 < i < len(filters) - 1  # not on the first layer (pixels) nor the 1x1 bottleneck
        if i > 0:
            x = layers.LeakyReLU(LEAK)(x)
        x = layers.Conv2D(channels, KERNEL, strides=2, padding="same", use_bias=not norm,
                          kernel_initializer=_init(), name=f"down{i + 1}")(x)  # (B, h/2, w/2, c)
        if norm:
            x = BatchStatsNorm(name=f"down{i + 1}_norm")(x)
        skips.append(x)
    # Decoder: mirror the encoder, concatenating each output with the encoder map of its size.
    ups = list(zip(reversed(filters[:-1]), reversed(skips[:-1]), strict=True))
    for j, (channels, skip) in enumerate(ups):
        x = layers.ReLU()(x)
        x = layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_init(), name=f"up{j + 1}")(x)  # (B, 2h, 2w, c)
        x = BatchStatsNorm(name=f"up{j + 1}_norm")(x)
        if j < DROPOUT_LAYERS:
            x = RngDropout(DROPOUT_RATE, rng, name=f"up{j + 1}_dropout")(x)
        x = layers.Concatenate(name=f"up{j + 1}_skip")([x, skip])  # (B, 2h, 2w, 2c)
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(3, KERNEL, strides=2, padding="same", kernel_initializer=_init(),
                               name="to_rgb")(x)  # (B, S, S, 3)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(image, images, name="unet_generator")


def build_discriminator(image_size: int, ndf: int) -> keras.Model:
    """Build the PatchGAN D: (input, image), each (B, S, S, 3) -> patch logits (B, P, P, 1)."""
    condition = keras.Input(shape=(image_size, image_size, 3), name="input_image")
    image = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Concatenate()([condition, image])  # (B, S, S, 6): D judges the pair, not the image
    for i in range(PATCH_STRIDE_2_LAYERS):
        x = layers.Conv2D(ndf * 2**i, KERNEL, strides=2, padding="same", use_bias=i == 0,
                          kernel_initializer=_init(), name=f"conv{i + 1}")(x)  # (B, h/2, w/2, c)
        if i > 0:
            x = BatchStatsNorm(name=f"conv{i + 1}_norm")(x)
        x = layers.LeakyReLU(LEAK)(x)
    # Two stride-1 convs with 1 px of zero padding each, as models.lua: 32 -> 31 -> 30 at 256 px.
    x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(ndf * 2**PATCH_STRIDE_2_LAYERS, KERNEL, use_bias=False,
                      kernel_initializer=_init(), name="conv4")(x)  # (B, P + 1, P + 1, 8ndf)
    x = BatchStatsNorm(name="conv4_norm")(x)
    x = layers.LeakyReLU(LEAK)(x)
    x = layers.ZeroPadding2D(1)(x)
    logits = layers.Conv2D(1, KERNEL, kernel_initializer=_init(), dtype="float32",
                           name="patch_logits")(x)  # (B, P, P, 1)
    return keras.Model([condition, image], logits, name="patchgan_discriminator")
