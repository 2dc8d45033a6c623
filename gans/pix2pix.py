"""pix2pix (Isola et al. 2017) as a pluggable model: edges2cats, sketch in, cat photo out (or grey in, colour out).

G, a U-Net, translates an input image (an edge sketch) into a photo; D, a 70x70 PatchGAN, judges
(input, photo) pairs patch by patch. G's loss is the GAN loss plus l1_lambda times the L1
distance to the real photo, which carries the low frequencies while D sharpens the details.

Inference mode, one for everything (sample sheets, quality images, export, translate): dropout
OFF and BatchNorm on the statistics of each image (gans.nets.pix2pix.BatchStatsNorm, no moving
averages). The paper runs G at test time exactly as in training, dropout on and batch statistics,
to avoid a train/test gap that "makes a big difference for batchnorm" (phillipi/pix2pix#34); the
TF tutorial calls G with training=True for the same reason. We keep that for the normalisation:
per-image statistics are exactly what G saw in training at the recipe's batch size 1. We drop the
dropout, whose noise the paper found G mostly ignores ("only minor stochasticity"), so that one
sketch gives one answer every time, in the sheets, the export and the service alike. The price:
without dropout the decoder's activations vary less than in training, so outputs shift a little
from what the training-mode G would draw (most visible early in training).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.common import check_batch_fits
from gans.configs.pix2pix import DECLARATION, Pix2PixConfig
from gans.dtype_policy import adam_players, precision_scope
from gans.export import export_declared, to_uint8
from gans.grid import image_grid
from gans.losses import sigmoid_bce
from gans.nets.pix2pix import build_discriminator, build_generator
from gans.pairs import Part, ab_pairs_dataset, count_pair_images, edge_pairs_dataset, grey_pairs_dataset
from gans.spec import ModelSpec

SAMPLE_PAIRS = 4  # rows of the progress sheet: input | output | target
INFERENCE_BATCH = 16  # images per generator call in translate and quality_images


class Pix2Pix(keras.Model):
    """U-Net G and PatchGAN D updated together from one forward pass (the TF tutorial's step)."""

    def __init__(self, config: Pix2PixConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        # All randomness of train_step (dropout masks) comes from this checkpointed generator.
        self.rng = tf.random.Generator.from_seed(config.seed)
        self.generator = build_generator(config.image_size, config.ngf, self.rng)
        self.discriminator = build_discriminator(config.image_size, config.ndf)

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer) -> None:
        """Attach one optimizer per player and create their slots, so a restore fills them at once."""
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Translate inputs (B, S, S, 3) in [-1, 1] into images (B, S, S, 3) in [-1, 1]."""
        return self.generator(inputs, training=training)

    def trackables(self) -> dict[str, Any]:
        """Return what a checkpoint must hold for an exact resume."""
        return dict(generator=self.generator, discriminator=self.discriminator,
                    g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer, rng=self.rng)

    def train_step(self, batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One Adam step for each player on a batch of (input, target), each (B, S, S, 3)."""
        inputs, targets = batch
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fakes = self.generator(inputs, training=True)  # (B, S, S, 3); dropout is G's noise
            real_logits = self.discriminator([inputs, targets], training=True)  # (B, P, P, 1)
            fake_logits = self.discriminator([inputs, fakes], training=True)  # (B, P, P, 1)
            # G: fool D on every patch, and stay close to the target in L1 (low frequencies).
            gan_loss = sigmoid_bce(fake_logits, 1.0)
            l1_loss = tf.reduce_mean(tf.abs(targets - fakes))
            g_loss = gan_loss + self.config.l1_lambda * l1_loss
            # D: real pairs towards 1, fake pairs towards 0. The paper halves this sum; under Adam
            # scaling a loss does not change the step (up to epsilon), so we report it unhalved.
            d_loss = sigmoid_bce(real_logits, 1.0) + sigmoid_bce(fake_logits, 0.0)
            # the losses themselves unless mixed_float16 (gans.dtype_policy)
            g_scaled, d_scaled = self.g_optimizer.scale_loss(g_loss), self.d_optimizer.scale_loss(d_loss)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        g_grads, d_grads = g_tape.gradient(g_scaled, g_vars), d_tape.gradient(d_scaled, d_vars)
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss, "gan_loss": gan_loss, "l1_loss": l1_loss}


def build(config: Pix2PixConfig) -> Pix2Pix:
    """Build the model with seeded weights, compiled with the recipe's two Adam optimizers."""
    config.validate()
    keras.utils.set_random_seed(config.seed)
    with precision_scope(config.precision):  # every net under the config's dtype policy
        model = Pix2Pix(config)
    model.compile(**adam_players(config))
    return model


def pairs_dataset(config: Pix2PixConfig, data_dir: str | Path, *, training: bool, epoch: int = 0,
                  batch_size: int | None = None, part: Part = "train") -> tf.data.Dataset:
    """Return (input, target) batches of the configured source and part of the split (see gans.pairs)."""
    size, batch = config.image_size, batch_size or config.batch_size
    if config.source == "ab":
        return ab_pairs_dataset(data_dir, size, batch, config.seed, direction=config.direction,
                                training=training, epoch=epoch, part=part)
    if config.source == "grayscale":
        return grey_pairs_dataset(data_dir, size, batch, config.seed, training=training, epoch=epoch, part=part)
    return edge_pairs_dataset(data_dir, size, batch, config.seed, training=training, epoch=epoch, part=part)


def count_examples(config: Pix2PixConfig, data_dir: str | Path) -> int:
    """Return the training pairs per epoch (held-out ones left out); DatasetError when fewer than batch_size."""
    return check_batch_fits(count_pair_images(data_dir), config.batch_size, data_dir)


def epoch_dataset(config: Pix2PixConfig, data_dir: str | Path, epoch: int) -> tf.data.Dataset:
    """Return the jittered, shuffled batches of a 0-based epoch; the same for the same (seed, epoch)."""
    return pairs_dataset(config, data_dir, training=True, epoch=epoch)


def translate_tensor(generator: keras.Model, images: tf.Tensor) -> tf.Tensor:
    """Translate uint8 images (N, S, S, 3) to uint8 (N, S, S, 3) in the one inference mode."""
    inputs = tf.cast(images, tf.float32) / 127.5 - 1.0  # as gans.pairs maps pixels to [-1, 1]
    # training=False: no dropout, and BatchStatsNorm normalises each image by its own statistics.
    return to_uint8(generator(inputs, training=False))


def sample_inputs(config: Pix2PixConfig, data_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return the sheet's fixed pairs: the first SAMPLE_PAIRS held-out (input, target), uint8, no jitter.

    Held-out pairs show what G does on sketches it never trained on (training pairs for a small folder).
    """
    inputs, targets = next(iter(pairs_dataset(config, data_dir, training=False,
                                              batch_size=SAMPLE_PAIRS, part="quality")))
    return to_uint8(inputs).numpy(), to_uint8(targets).numpy()  # (n, S, S, 3) each


def sample_sheet(model: Pix2Pix, inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return a uint8 sheet with one row per pair: input | output | target (grey | colourised | truth)."""
    sketches, targets = inputs
    outputs = translate_tensor(model.generator, tf.constant(sketches)).numpy()
    rows = np.stack([sketches, outputs, targets], axis=1)  # (n, 3, S, S, 3)
    return image_grid(rows.reshape(-1, *rows.shape[2:]), columns=3)  # (n * S, 3 * S, 3)


def quality_images(model: Pix2Pix, config: Pix2PixConfig, data_dir: str | Path,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (real targets, generated outputs), uint8 (n, S, S, 3), for the first n held-out pairs in order
    (the training pairs when the folder holds none out).

    Fewer than n when there are fewer pairs.
    """
    real, generated = [], []
    dataset = pairs_dataset(config, data_dir, training=False, batch_size=INFERENCE_BATCH, part="quality")
    for inputs, targets in dataset.take(math.ceil(n / INFERENCE_BATCH)):
        real.append(to_uint8(targets).numpy())
        generated.append(translate_tensor(model.generator, to_uint8(inputs)).numpy())
    return np.concatenate(real)[:n], np.concatenate(generated)[:n]


def training_targets(config: Pix2PixConfig, data_dir: str | Path, n: int) -> np.ndarray:
    """Return the first n training targets, uint8 (n, S, S, 3), no jitter: the real-vs-real floor's other set."""
    dataset = pairs_dataset(config, data_dir, training=False, batch_size=INFERENCE_BATCH, part="train")
    targets = [to_uint8(t).numpy() for _, t in dataset.take(math.ceil(n / INFERENCE_BATCH))]
    return np.concatenate(targets)[:n]


def export(model: Pix2Pix, config: Pix2PixConfig, export_dir: str | Path,
           metadata: dict[str, Any]) -> None:
    """Save G as a SavedModel, serving_default: image uint8 (N, S, S, 3) -> {"images": uint8}."""
    generator = model.generator
    export_declared(DECLARATION, config, export_dir, lambda image: {"images": translate_tensor(generator, image)},
                    {"generator": generator}, metadata,
                    extra={"source": config.source, "direction": config.direction, "input": "image",
                           "inference": "dropout off, per-image normalisation statistics"})


def translate(model_or_export: Pix2Pix | str | Path | Any, images_uint8: np.ndarray) -> np.ndarray:
    """Translate uint8 images (N, S, S, 3) or one (S, S, 3) with a model, an export dir or a loaded export.

    Raises:
        ValueError: the images are not uint8 RGB of the model's size.
    """
    if isinstance(model_or_export, (str, Path)):
        model_or_export = tf.saved_model.load(str(model_or_export))
    if isinstance(model_or_export, keras.Model):
        generator = getattr(model_or_export, "generator", model_or_export)
        size, run = generator.input_shape[1], lambda x: translate_tensor(generator, x)
    else:  # a loaded SavedModel: go through its serving signature, as TF Serving would
        serve = model_or_export.signatures["serving_default"]
        size = serve.structured_input_signature[1]["image"].shape[1]
        run = lambda x: serve(image=x)["images"]  # noqa: E731
    images = np.asarray(images_uint8)
    single = images.ndim == 3
    batch = images[None] if single else images
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
        raise ValueError(f"translate needs uint8 images (N, {size}, {size}, 3), "
                         f"got {images.dtype} {images.shape}")
    outputs = [run(tf.constant(batch[i:i + INFERENCE_BATCH])).numpy()
               for i in range(0, len(batch), INFERENCE_BATCH)]
    result = np.concatenate(outputs) if outputs else np.zeros_like(batch)
    return result[0] if single else result


SPEC = ModelSpec(
    declaration=DECLARATION,
    build=build,
    count_examples=count_examples,
    epoch_dataset=epoch_dataset,
    sample_inputs=sample_inputs,
    sample_sheet=sample_sheet,
    quality_images=quality_images,
    export=export,
    training_images=training_targets,
)
