"""tiny-cgan's nets, keras.Model and SPEC, from gans' shared pieces (two_player, labelled, export, losses, grid)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gans.common import check_batch_fits
from gans.errors import ConfigError
from gans.export import export_declared, to_uint8
from gans.grid import image_grid
from gans.labelled import count_labelled_training, labelled_dataset, labelled_sample
from gans.losses import sigmoid_bce
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN
from tests.support.tiny_cgan.declaration import DECLARATION, IMAGE_SIZE, TinyCGANConfig


def build_generator(config: TinyCGANConfig) -> keras.Model:
    """(z (B, z_dim), label (B,)) -> concat(z, one_hot) -> Dense 4x4xW -> transposed conv s4, tanh (B, 16, 16, C)."""
    z, label = keras.Input((config.z_dim,)), keras.Input((), dtype="int32")
    x = layers.Concatenate()([z, layers.CategoryEncoding(len(config.class_names), "one_hot")(label)])
    x = layers.Reshape((4, 4, config.width))(layers.Dense(16 * config.width, activation="relu")(x))
    images = layers.Conv2DTranspose(config.channels, 4, strides=4, padding="same", activation="tanh")(x)
    return keras.Model([z, label], images, name="generator")


def build_discriminator(config: TinyCGANConfig) -> keras.Model:
    """(image (B, 16, 16, C), label (B,)) -> conv s4 -> concat one_hot -> Dense(1) logit."""
    image, label = keras.Input((IMAGE_SIZE, IMAGE_SIZE, config.channels)), keras.Input((), dtype="int32")
    x = layers.Flatten()(layers.Conv2D(config.width, 4, strides=4, activation="relu")(image))
    x = layers.Concatenate()([x, layers.CategoryEncoding(len(config.class_names), "one_hot")(label)])
    return keras.Model([image, label], layers.Dense(1)(x), name="discriminator")


class TinyCGAN(TwoPlayerGAN):
    """D on real vs fake (image, label) pairs, then G to fool it: the cGAN recipe at toy size."""

    def __init__(self, config: TinyCGANConfig, **kwargs: Any) -> None:
        super().__init__(config, build_generator(config), build_discriminator(config), **kwargs)

    def call(self, inputs: tuple[tf.Tensor, tf.Tensor], training: bool = False) -> tf.Tensor:
        z, label = inputs
        return self.generator([z, label], training=training)

    def train_step(self, batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        real, label = batch
        z = self.rng.normal([tf.shape(real)[0], self.config.z_dim])
        with tf.GradientTape() as tape:
            fake = self.generator([z, label], training=True)
            d_loss = (sigmoid_bce(self.discriminator([real, label], training=True), 1.0)
                      + sigmoid_bce(self.discriminator([fake, label], training=True), 0.0))
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))
        with tf.GradientTape() as tape:
            g_loss = sigmoid_bce(self.discriminator([self.generator([z, label], training=True), label]), 1.0)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def build(config: TinyCGANConfig, model_type: type[TinyCGAN] = TinyCGAN) -> TinyCGAN:
    """Build and compile with seeded weights; the classes must be filled from the data first."""
    config.validate()
    if not config.class_names:
        raise ConfigError("class_names is empty: fill it from the data first")
    keras.utils.set_random_seed(config.seed)
    model = model_type(config)
    model.compile(d_optimizer=keras.optimizers.Adam(config.lr_d), g_optimizer=keras.optimizers.Adam(config.lr_g))
    return model


def count_examples(config: TinyCGANConfig, data_dir: Path) -> int:
    return check_batch_fits(count_labelled_training(data_dir, config.class_names), config.batch_size, data_dir)


def epoch_dataset(config: TinyCGANConfig, data_dir: Path, epoch: int) -> tf.data.Dataset:
    return labelled_dataset(data_dir, IMAGE_SIZE, config.batch_size, config.seed, config.channels, epoch=epoch,
                            classes=config.class_names)


def sample_inputs(config: TinyCGANConfig, data_dir: Path | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Four latents per class, one row per class."""
    classes = len(config.class_names)
    z = tf.random.stateless_normal((4, config.z_dim), seed=[config.seed, 7])
    return tf.tile(z, [classes, 1]), tf.constant(np.repeat(np.arange(classes, dtype=np.int32), 4))


def sample_sheet(model: TinyCGAN, inputs: tuple[tf.Tensor, tf.Tensor]) -> np.ndarray:
    return image_grid(to_uint8(model(inputs, training=False)).numpy(), columns=4)


def quality_images(model: TinyCGAN, config: TinyCGANConfig, data_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    real, label = labelled_sample(data_dir, IMAGE_SIZE, n, config.seed, config.channels, classes=config.class_names)
    z = tf.random.stateless_normal((len(label), config.z_dim), seed=[config.seed, 11])
    return to_uint8(real).numpy(), to_uint8(model((z, tf.constant(label)), training=False)).numpy()


def export(model: TinyCGAN, config: TinyCGANConfig, export_dir: Path, metadata: dict[str, Any]) -> None:
    """Save serving_default: (z, label) -> {"images": uint8}, exactly DECLARATION.signature(config)."""
    generator = model.generator

    def serve(z: tf.Tensor, label: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"images": to_uint8(generator([z, label], training=False))}

    export_declared(DECLARATION, config, export_dir, serve, {"generator": generator}, metadata)


SPEC = ModelSpec(declaration=DECLARATION, build=build, count_examples=count_examples, epoch_dataset=epoch_dataset,
                 sample_inputs=sample_inputs, sample_sheet=sample_sheet, quality_images=quality_images, export=export)
