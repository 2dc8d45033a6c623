"""keras-gan: the GAN of "Deep Learning with Python" (Chollet, 1st ed., 8.5) that learned CIFAR-10 frogs.

The book's recipe, reproduced: a 32-d latent, the nets of gans/nets/keras_gan.py, RMSprop for both
players (D at 8e-4, G at 4e-4, gradients clipped to +-1), batches of 20, binary cross-entropy on
D's sigmoid output, noisy labels, and the book's label convention (D learns 1 for *generated*, 0 for
real; G is trained towards 0). Three deliberate differences from the notebook:
- Keras 3 optimizers have no `decay` argument; the book's decay=1e-8 (lr / (1 + 1e-8 * iterations))
  is the InverseTimeDecay schedule below. After 10,000 steps it has lowered the rates by 0.01 %.
- The book scaled real images to [0, 1] while its generator's tanh emits [-1, 1]; here both are in
  [-1, 1], as the rest of catgan's data is.
- Keras 3's cross-entropy recovers D's logit from the sigmoid, so a saturated D still passes
  gradients; Keras 2 clipped the probability to [1e-7, 1 - 1e-7] first and passed none there.

This module also holds the data, sample-sheet and quality helpers that gans/mlp_gan.py shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.config import IMAGE_SIZES, TrainingConfig, _check_in_range, _check_positive_int, _is_int
from gans.data import count_images, image_folder_dataset, list_images, load_image
from gans.export import export_generator, to_uint8
from gans.grid import image_grid
from gans.nets.keras_gan import build_discriminator, build_generator
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN

NAME = "keras-gan"
LR_DECAY = 1e-8  # the book's RMSprop(decay=1e-8)
SHEET_SIZE = 64  # fixed latents of the sample sheet: an 8x8 grid
SHEET_STREAM, QUALITY_STREAM = 7, 11  # second halves of the stateless seeds, one per use
GENERATE_BATCH = 256  # latents per generator call when drawing quality sets


@dataclass(frozen=True, kw_only=True)
class KerasGANConfig(TrainingConfig):
    """Everything that defines one keras-gan run; the defaults are the book's."""

    batch_size: int = 20  # the book's; overrides TrainingConfig's 64
    latent_dim: int = 32  # length of the latent vector
    image_size: int = 32  # the book's 32 (also 64 or 128: G starts at image_size / 2)
    channels: int = 3  # 3 (RGB) or 1 (grey; the data is converted)
    lr_d: float = 8e-4  # RMSprop rate of D, twice G's
    lr_g: float = 4e-4
    clipvalue: float = 1.0  # every gradient element is clipped to [-clipvalue, clipvalue]
    label_noise: float = 0.05  # uniform [0, label_noise) added to every target of D
    dropout: float = 0.4  # before D's last layer

    @property
    def z_dim(self) -> int:
        """Return latent_dim under the name the rest of the service uses for the latent size."""
        return self.latent_dim

    def validate(self) -> KerasGANConfig:
        """Raise ValueError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        if not _is_int(self.image_size) or self.image_size not in IMAGE_SIZES:
            raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {self.image_size!r}")
        _check_positive_int("latent_dim", self.latent_dim)
        if not _is_int(self.channels) or self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels!r}")
        for name in ("lr_d", "lr_g", "clipvalue"):
            _check_in_range(name, getattr(self, name), 0.0, math.inf, "> 0")
        _check_in_range("label_noise", self.label_noise, 0.0, 0.5, "in [0, 0.5)", low_open=False)
        _check_in_range("dropout", self.dropout, 0.0, 1.0, "in [0, 1)", low_open=False)
        return self


class KerasGAN(TwoPlayerGAN):
    """The book's two players, trained in turn: D one step on a mixed batch, then G one step."""

    def __init__(self, config: KerasGANConfig, **kwargs):
        # Latents and label noise come from the checkpointed rng (the book used NumPy's global one).
        super().__init__(config, build_generator(config), build_discriminator(config), **kwargs)

    def trackables(self) -> dict[str, Any]:
        """Return the nets, optimizers, rng and D's dropout seed state: all an exact resume needs."""
        # Keras keeps a Dropout layer's seed state out of the model's checkpoint; add it.
        dropout_seed = self.discriminator.get_layer("dropout").seed_generator.state
        return super().trackables() | {"dropout_seed": dropout_seed}

    def train_step(self, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Update D on generated + real images, then G through the updated D; batch (B, S, S, C)."""
        real = batch[0] if isinstance(batch, tuple) else batch  # fit() may wrap it in a tuple
        batch_size = tf.shape(real)[0]
        latent_dim = self.config.latent_dim

        # 1. Discriminator, on one batch of B generated then B real images. The book's labels:
        #    1 = generated, 0 = real (so D outputs the probability that an image is *fake*), each
        #    plus uniform noise in [0, label_noise). training=False: the book used generator.predict.
        fake = self.generator(self.rng.normal([batch_size, latent_dim]), training=False)
        combined = tf.concat([fake, tf.cast(real, fake.dtype)], axis=0)  # (2B, S, S, C)
        labels = tf.concat([tf.ones([batch_size, 1]), tf.zeros([batch_size, 1])], axis=0)  # (2B, 1)
        labels += self.config.label_noise * self.rng.uniform([2 * batch_size, 1])
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined, training=True)  # (2B, 1)
            d_loss = tf.reduce_mean(keras.losses.binary_crossentropy(labels, predictions))
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))

        # 2. Generator, through D with D's weights held (the book's frozen `gan` model; its dropout
        #    still ran, as train_on_batch runs in the training phase), towards the "misleading
        #    targets" 0 = "real", without noise.
        z = self.rng.normal([batch_size, latent_dim])  # (B, latent_dim)
        misleading_targets = tf.zeros([batch_size, 1])
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(keras.losses.binary_crossentropy(misleading_targets, predictions))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def rmsprop(learning_rate: float, clipvalue: float) -> keras.optimizers.RMSprop:
    """Return the book's RMSprop(lr, clipvalue, decay=1e-8), its decay written as a schedule."""
    # Keras 2's decay: lr / (1 + decay * iterations), exactly InverseTimeDecay with decay_steps 1.
    schedule = keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=LR_DECAY)
    return keras.optimizers.RMSprop(learning_rate=schedule, clipvalue=clipvalue)


def build_keras_gan(config: KerasGANConfig) -> KerasGAN:
    """Build the model with weights seeded by config.seed, compiled with the book's optimizers."""
    config.validate()
    keras.utils.set_random_seed(config.seed)  # Keras' initialisers draw from the global seed
    model = KerasGAN(config)
    model.compile(d_optimizer=rmsprop(config.lr_d, config.clipvalue),
                  g_optimizer=rmsprop(config.lr_g, config.clipvalue))
    return model


# Spec helpers, shared with gans/mlp_gan.py ------------------------------------------------------


def count_folder_images(data_dir: Path) -> int:
    """Return the images in data_dir, one example each; raise ValueError if there is none."""
    count = count_images(data_dir)
    if count == 0:
        raise ValueError(f"no image files in {data_dir}")
    return count


def _grey(images: tf.Tensor) -> tf.Tensor:
    """Convert RGB (..., 3) in [-1, 1] to luma (..., 1) in [-1, 1] (ITU-R BT.601 weights)."""
    return tf.clip_by_value(tf.image.rgb_to_grayscale(images), -1.0, 1.0)


def folder_batches(data_dir: Path, image_size: int, channels: int, batch_size: int, seed: int,
                   epoch: int) -> tf.data.Dataset:
    """Return epoch's batches (B, S, S, channels) in [-1, 1] of an image folder, RGB or grey.

    Grey is converted here from decoded RGB rather than asked of gans.data (channels=1): TensorFlow
    decodes BMP and GIF only to 3 or 4 channels, and the dataset would silently skip those files.
    """
    dataset = image_folder_dataset(data_dir, image_size, batch_size, seed, epoch=epoch)
    return dataset.map(_grey) if channels == 1 else dataset


def real_images(data_dir: Path, image_size: int, channels: int, count: int, seed: int) -> np.ndarray:
    """Return up to count uint8 images (N, S, S, channels) of data_dir, a fixed sample for seed."""
    paths = list_images(data_dir)
    if not paths:
        raise ValueError(f"no image files in {data_dir}")
    order = np.random.default_rng([seed, QUALITY_STREAM]).permutation(len(paths))
    files = tf.data.Dataset.from_tensor_slices([paths[i] for i in order])
    images = files.map(lambda p: load_image(p, image_size), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True).ignore_errors()
    batches = [_grey(b) if channels == 1 else b for b in images.take(count).batch(GENERATE_BATCH)]
    if not batches:
        raise ValueError(f"none of the images in {data_dir} could be decoded")
    return to_uint8(tf.concat(batches, axis=0)).numpy()


def generated_images(generator: keras.Model, latent_dim: int, count: int, seed: int) -> np.ndarray:
    """Return count uint8 images from fixed latents of seed, in inference mode."""
    z = tf.random.stateless_normal((count, latent_dim), seed=[seed, QUALITY_STREAM])
    parts = [to_uint8(generator(z[i:i + GENERATE_BATCH], training=False))
             for i in range(0, count, GENERATE_BATCH)]
    return tf.concat(parts, axis=0).numpy()


def sheet_latents(latent_dim: int, seed: int) -> tf.Tensor:
    """Return the sheet's fixed latents (64, latent_dim), independent of the model's rng."""
    return tf.random.stateless_normal((SHEET_SIZE, latent_dim), seed=[seed, SHEET_STREAM])


def latent_sheet(model: keras.Model, z: tf.Tensor) -> np.ndarray:
    """Return the uint8 8x8 sheet (8H, 8W, C) of the model's images for the latents z."""
    return image_grid(to_uint8(model(z, training=False)).numpy())


def export_sampler(model: keras.Model, export_dir: Path, latent_dim: int, name: str,
                   metadata: dict[str, Any]) -> None:
    """Save the sampler as a SavedModel: serving_default z float32 (N, latent_dim) -> {"images": uint8}."""
    export_generator(model.sampler, export_dir, latent_dim, metadata={**metadata, "model": name})


SPEC = ModelSpec(
    name=NAME,
    config_type=KerasGANConfig,
    build=build_keras_gan,
    count_examples=lambda config, data_dir: count_folder_images(data_dir),
    epoch_dataset=lambda config, data_dir, epoch: folder_batches(
        data_dir, config.image_size, config.channels, config.batch_size, config.seed, epoch),
    sample_inputs=lambda config, data_dir: sheet_latents(config.latent_dim, config.seed),
    sample_sheet=latent_sheet,
    quality_images=lambda model, config, data_dir, n: (
        real_images(data_dir, config.image_size, config.channels, n, config.seed),
        generated_images(model.sampler, config.latent_dim, n, config.seed)),
    export=lambda model, config, export_dir, metadata: export_sampler(
        model, export_dir, config.latent_dim, NAME, metadata),
)
