"""The pix2pix loops of figure 2 (TensorFlow side; runs in bench.child), on the same nets and in-memory pairs.

- `Pix2PixBare`: the model's own `train_step` (gans.pix2pix) under `tf.function`, over in-memory (input,
  target) batches, synchronised once per block, as `Bare` does for the DCGAN.
- `Pix2PixTutorial`: the TensorFlow pix2pix tutorial's `train_step` on the same generator and discriminator:
  one G forward, D on the real and the generated pair, two tapes, `BinaryCrossentropy(from_logits=True)`,
  gen_total_loss = gan_loss + LAMBDA * l1_loss, disc_loss = real + generated, fresh Adam(2e-4, beta_1=0.5)
  per player, the pairs drawn from a `tf.data` pipeline over memory at batch 1. Its `tf.summary` writes
  are left out (they cost nothing comparable at 256 px, and the job writes none per step either).

The nets come from gans.pix2pix.build, the model's public builder, so both loops train exactly the nets a job
trains (U-Net with its dropout generator, 70x70 PatchGAN).
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import tensorflow as tf

from gans.configs.pix2pix import Pix2PixConfig
from gans.pix2pix import build, pairs_dataset

LAMBDA = 100  # the tutorial's weight of the L1 term (the recipe's l1_lambda too)


def pix2pix_config(image_size: int, ngf: int) -> Pix2PixConfig:
    """The recipe (batch 1, edges -> photo) at `image_size`, with `ngf` = `ndf` channels (64: the recipe)."""
    return Pix2PixConfig(image_size=image_size, ngf=ngf, ndf=ngf, batch_size=1, seed=0).validate()


def memory_pairs(config: Pix2PixConfig, data: Path, pairs: int) -> tuple[tf.Tensor, tf.Tensor]:
    """`pairs` jittered (sketch, photo) pairs of the folder, made once: two (N, S, S, 3) float32 in [-1, 1]."""
    inputs, targets = zip(*pairs_dataset(config, data, training=True).take(pairs), strict=True)
    return tf.concat(inputs, axis=0), tf.concat(targets, axis=0)


class Pix2PixBare:
    """The model's train_step, compiled as a job compiles it, over in-memory pairs; one host sync per block."""

    def __init__(self, config: Pix2PixConfig, pairs: tuple[tf.Tensor, tf.Tensor]) -> None:
        self.model = build(config)
        self.step = tf.function(self.model.train_step, jit_compile=config.jit_compile)
        inputs, targets = pairs
        self.batches = [(inputs[i:i + 1], targets[i:i + 1]) for i in range(int(inputs.shape[0]))]

    def run(self, steps: int) -> float:
        """Wall seconds of `steps` steps."""
        start = time.perf_counter()
        losses = {}
        for index in range(steps):
            losses = self.step(self.batches[index % len(self.batches)])
        float(losses["g_loss"])
        return time.perf_counter() - start


class Pix2PixTutorial:
    """The TF pix2pix tutorial's step on the model's nets, fed from tf.data at batch 1."""

    def __init__(self, config: Pix2PixConfig, pairs: tuple[tf.Tensor, tf.Tensor]) -> None:
        nets = build(config)  # the same seeded nets; the tutorial's own optimizers below
        self.generator, self.discriminator = nets.generator, nets.discriminator
        self.loss_object = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.discriminator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        dataset = tf.data.Dataset.from_tensor_slices(pairs).shuffle(int(pairs[0].shape[0]), seed=0).repeat()
        self.batches = iter(dataset.batch(1).prefetch(tf.data.AUTOTUNE))
        self.step = tf.function(self._train_step, jit_compile=config.jit_compile)

    def generator_loss(self, disc_generated_output: tf.Tensor, gen_output: tf.Tensor,
                       target: tf.Tensor) -> tf.Tensor:
        gan_loss = self.loss_object(tf.ones_like(disc_generated_output), disc_generated_output)
        l1_loss = tf.reduce_mean(tf.abs(target - gen_output))
        return gan_loss + LAMBDA * l1_loss

    def discriminator_loss(self, disc_real_output: tf.Tensor, disc_generated_output: tf.Tensor) -> tf.Tensor:
        real_loss = self.loss_object(tf.ones_like(disc_real_output), disc_real_output)
        generated_loss = self.loss_object(tf.zeros_like(disc_generated_output), disc_generated_output)
        return real_loss + generated_loss

    def _train_step(self, input_image: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = self.generator(input_image, training=True)
            disc_real_output = self.discriminator([input_image, target], training=True)
            disc_generated_output = self.discriminator([input_image, gen_output], training=True)
            gen_total_loss = self.generator_loss(disc_generated_output, gen_output, target)
            disc_loss = self.discriminator_loss(disc_real_output, disc_generated_output)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(gen_tape.gradient(gen_total_loss, g_vars), g_vars, strict=True))
        self.discriminator_optimizer.apply_gradients(zip(disc_tape.gradient(disc_loss, d_vars), d_vars,
                                                         strict=True))
        return gen_total_loss

    def run(self, steps: int) -> float:
        """Wall seconds of `steps` steps, each pair drawn from the tf.data iterator as the tutorial's fit does."""
        start = time.perf_counter()
        loss = tf.constant(0.0)
        for _ in range(steps):
            input_image, target = next(self.batches)
            loss = self.step(input_image, target)
        float(loss)
        return time.perf_counter() - start
