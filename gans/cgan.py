"""The conditional GAN (Mirza & Osindero 2014; keras-io's `conditional_gan`): G and D see the label.

G draws an image of a chosen class from (z, label); D judges (image, label) pairs, so G must
make images that look real AND fit their label. Data: a folder of class folders (gans.labelled).

Classes: the config carries `class_names`, the ordered names whose index is the label id. The
caller fills it from the data before building, because `SPEC.build(config)` sees no data folder:
`with_classes(config, data_dir)` here, or gans.registry.make_config (the worker's path), both
from `gans.labelled.class_names(data_dir)`.
An empty tuple means "not resolved yet": it passes validate() (so the API can check a request
before the data is unpacked), but build() refuses it, and the data functions refuse a folder
whose classes differ from it (label ids must mean the same thing across a resume and export).
The export's metadata.json lists `classes`, so a generate job maps {"tabby": 10} to label ids.

Held-out split: one rule for the whole folder (gans.holdout over all its image files, see
gans.labelled). Training never reads a held-out file; the SWD compares G's images with the held-out
images (for their labels), and the trainer reports the floor (training vs held-out) beside it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.common import GENERATE_BATCH, check_batch_fits
from gans.configs.cgan import DECLARATION, CGANConfig
from gans.dtype_policy import adam_players, precision_scope
from gans.errors import ConfigError, DatasetError
from gans.export import export_declared, to_uint8
from gans.grid import image_grid
from gans.labelled import class_names, count_labelled_training, labelled_dataset, labelled_sample
from gans.losses import sigmoid_bce
from gans.nets.cgan import build_discriminator, build_generator
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN

SHEET_COLUMNS = 8  # samples per class on the progress sheet, one latent per column
SHEET_MAX_ROWS = 10  # classes shown on the sheet; more are thinned out evenly


class CGAN(TwoPlayerGAN):
    """Generator and discriminator, both conditioned on the label, trained in turn (keras-io style)."""

    def __init__(self, config: CGANConfig, **kwargs):
        super().__init__(config, build_generator(config), build_discriminator(config), **kwargs)

    def call(self, inputs: tuple[tf.Tensor, tf.Tensor], training: bool = False) -> tf.Tensor:
        """Generate images (B, S, S, C) in [-1, 1] from (z (B, z_dim), label (B,) int32)."""
        z, label = inputs
        return self.generator([z, label], training=training)

    def train_step(self, batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update D on real vs fake (image, label) pairs, then G to fool the updated D."""
        real, label = batch  # (B, S, S, C) in [-1, 1], (B,) int32
        batch_size = tf.shape(real)[0]

        # 1. Discriminator: real pairs towards 1, G's images for the same labels towards 0. Using
        #    the batch's labels for the fakes draws them from the data's class distribution.
        fake = self.generator([self.rng.normal([batch_size, self.config.z_dim]), label], training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([real, label], training=True)  # (B, 1)
            fake_logits = self.discriminator([fake, label], training=True)  # (B, 1)
            d_loss = sigmoid_bce(real_logits, 1.0) + sigmoid_bce(fake_logits, 0.0)
            scaled = self.d_optimizer.scale_loss(d_loss)  # d_loss itself unless mixed_float16 (gans.dtype_policy)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))

        # 2. Generator: fresh latents, same labels, pushed towards D saying "real, and of this class".
        z = self.rng.normal([batch_size, self.config.z_dim])  # (B, z_dim)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator([self.generator([z, label], training=True), label],
                                             training=True)
            g_loss = sigmoid_bce(fake_logits, 1.0)
            scaled = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def with_classes(config: CGANConfig, data_dir: str | Path) -> CGANConfig:
    """Return config with class_names read from data_dir when it has none yet (call before build)."""
    if config.class_names:
        return config
    return dataclasses.replace(config, class_names=tuple(class_names(data_dir)))


def build_cgan(config: CGANConfig) -> CGAN:
    """Build the cGAN with seeded weights, compiled with its two Adam optimizers."""
    config.validate()
    if not config.class_names:
        raise ConfigError("class_names is empty: fill it from the data first, "
                         "config = gans.cgan.with_classes(config, data_dir)")
    keras.utils.set_random_seed(config.seed)  # weight init; the model's rng does the rest
    with precision_scope(config.precision):  # every net under the config's dtype policy
        model = CGAN(config)
    model.compile(**adam_players(config))
    return model


def _check_classes(config: CGANConfig, data_dir: str | Path) -> None:
    """Raise DatasetError unless data_dir's class folders are exactly config.class_names, in order."""
    found = tuple(class_names(data_dir))
    if found != config.class_names:
        raise DatasetError(f"{data_dir} has classes {list(found)}, but the model's labels are "
                         f"{list(config.class_names)}; label ids would change meaning")


def count_examples(config: CGANConfig, data_dir: str | Path) -> int:
    """Return the training images per epoch (held-out ones left out), after checking the classes and the batch."""
    _check_classes(config, data_dir)
    return check_batch_fits(count_labelled_training(data_dir, config.class_names), config.batch_size, data_dir)


def epoch_dataset(config: CGANConfig, data_dir: str | Path, epoch: int) -> tf.data.Dataset:
    """Return the (images, labels) batches of 0-based epoch, the same for the same (seed, epoch)."""
    _check_classes(config, data_dir)
    return labelled_dataset(data_dir, config.image_size, config.batch_size, config.seed,
                            config.channels, epoch=epoch, classes=config.class_names)


def sample_inputs(config: CGANConfig, data_dir: str | Path | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Return the sheet's fixed (z, label): one row per shown class, the same 8 latents in each row.

    Sharing the latents across rows shows what the label controls: a column keeps its "style".
    """
    rows = min(config.num_classes, SHEET_MAX_ROWS)
    shown = np.linspace(0, config.num_classes - 1, rows).round().astype(np.int32)  # even spread
    z = tf.random.stateless_normal((SHEET_COLUMNS, config.z_dim), seed=[config.seed, 7])
    return tf.tile(z, [rows, 1]), tf.constant(np.repeat(shown, SHEET_COLUMNS))  # (R*8, z_dim), (R*8,)


def sample_sheet(model: CGAN, inputs: tuple[tf.Tensor, tf.Tensor]) -> np.ndarray:
    """Return the uint8 (R*S, 8*S, C) sheet of the fixed inputs, generated in inference mode."""
    return image_grid(to_uint8(model(inputs, training=False)).numpy(), columns=SHEET_COLUMNS)


def generate(model: CGAN, z: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Return uint8 images (N, S, S, C) for latents and labels, in chunks to bound memory."""
    chunks = [to_uint8(model((z[i:i + GENERATE_BATCH], label[i:i + GENERATE_BATCH]), training=False))
              .numpy() for i in range(0, len(z), GENERATE_BATCH)]
    return np.concatenate(chunks)


def quality_images(model: CGAN, config: CGANConfig, data_dir: str | Path,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (real, generated) uint8 sets for the SWD: n held-out images (training images when the folder holds
    none out) and G's images for their labels.
    """
    real, label = labelled_sample(data_dir, config.image_size, n, config.seed, config.channels,
                                  classes=config.class_names)
    if len(real) == 0:
        raise DatasetError(f"no decodable images in {data_dir}")
    z = tf.random.stateless_normal((len(label), config.z_dim), seed=[config.seed, 11]).numpy()
    return to_uint8(real).numpy(), generate(model, z, label)


def training_images(config: CGANConfig, data_dir: str | Path, n: int) -> np.ndarray:
    """Return up to n uint8 training images across classes, a fixed sample: the real-vs-real floor's other set."""
    real, _ = labelled_sample(data_dir, config.image_size, n, config.seed, config.channels,
                              classes=config.class_names, part="train")
    return to_uint8(real).numpy()


def serve_labels(generator: keras.Model, num_classes: int) -> Any:
    """Return the serving function: (z (N, z_dim), label (N,) int32) -> {"images": uint8 (N, S, S, C)}."""
    def serve(z: tf.Tensor, label: tf.Tensor) -> dict[str, tf.Tensor]:
        # A label out of range would one-hot to zeros and quietly draw a class-less image.
        checks = [tf.debugging.assert_equal(tf.shape(z)[0], tf.shape(label)[0],
                                            message="z and label need the same batch size"),
                  tf.debugging.assert_non_negative(label, message="label must be >= 0"),
                  tf.debugging.assert_less(label, num_classes, message=f"label must be < {num_classes}")]
        with tf.control_dependencies(checks):
            return {"images": to_uint8(generator([z, label], training=False))}

    return serve


def export_cgan(model: CGAN, config: CGANConfig, export_dir: str | Path, metadata: dict[str, Any]) -> None:
    """Save the generator as a SavedModel, serving_default: (z, label) -> {"images": uint8}, + metadata.json."""
    export_declared(DECLARATION, config, export_dir, serve_labels(model.generator, config.num_classes),
                    {"generator": model.generator}, metadata)


SPEC = ModelSpec(declaration=DECLARATION, build=build_cgan, count_examples=count_examples,
                 epoch_dataset=epoch_dataset, sample_inputs=sample_inputs, sample_sheet=sample_sheet,
                 quality_images=quality_images, export=export_cgan, training_images=training_images)
