"""DCGAN (the CatDCGAN recipe): a keras.Model whose train_step plays one round of the two-player game, and its SPEC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.augment import diff_augment
from gans.common import (
    count_folder_images,
    folder_batches,
    has_gpu,
    latent_sheet,
    quality_pair,
    sheet_latents,
    trained_on_images,
)
from gans.configs.dcgan import DECLARATION, DCGANConfig, resolve_profile
from gans.dtype_policy import adam_players, precision_scope
from gans.export import export_declared, serve_latents
from gans.losses import RELATIVISTIC, d_loss, g_loss, r1_penalty
from gans.nets.dcgan import build_discriminator, build_generator
from gans.replicas import per_replica_loss
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN


class DCGAN(TwoPlayerGAN):
    """Generator and discriminator trained in turn: D one step, then G one step (keras-io style)."""

    def __init__(self, config: DCGANConfig, **kwargs):
        # The rng (latents, DiffAugment draws) is checkpointed, so a restored run replays exactly.
        super().__init__(config, build_generator(config), build_discriminator(config), **kwargs)
        self.ema_generator = None
        if config.ema_decay:  # 0: no EMA copy
            self.ema_generator = build_generator(config)
            self.ema_generator.set_weights(self.generator.get_weights())
        self.ema_updates = tf.Variable(0, dtype=tf.int64, trainable=False)  # for the EMA warm-up

    def trackables(self) -> dict[str, object]:
        """Everything a checkpoint holds for an exact resume, the EMA copy included."""
        objects = super().trackables()
        if self.ema_generator is not None:
            objects |= {"ema_generator": self.ema_generator, "ema_updates": self.ema_updates}
        return objects

    @property
    def sampler(self) -> keras.Model:
        """Return the generator to sample and export with: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def _see(self, images: tf.Tensor) -> tf.Tensor:
        """Return what D sees of images: DiffAugmented when configured."""
        return diff_augment(images, self.rng) if self.config.diffaugment else images

    def train_step(self, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Update D on real vs fake, then G to fool the updated D, then the EMA copy; batch (B, S, S, 3)."""
        losses = self.replica_step(batch)
        self.after_replicas()
        return losses

    def replica_step(self, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """The D and G updates on this replica's rows (the whole batch on one device; gans.replicas)."""
        real = batch[0] if isinstance(batch, tuple) else batch  # fit() may wrap it in a tuple
        batch_size = tf.shape(real)[0]
        if self.config.reuse_fakes:
            return self._step_reusing_fakes(real, batch_size)
        fake = self.generator(self.rng.normal([batch_size, self.config.z_dim]), training=True)
        losses = self._train_d(real, fake)
        losses["g_loss"] = self._train_g(real, batch_size)
        return losses

    def after_replicas(self) -> None:
        """What runs once per step after the replicas' updates: the EMA copy follows G."""
        self._update_ema()

    def _step_reusing_fakes(self, real: tf.Tensor, batch_size: tf.Tensor) -> dict[str, tf.Tensor]:
        """PyTorch's DCGAN order: one G forward serves D's step (as a constant) and then G's, against the
        updated D; G's tape pauses while D trains. One G forward a step instead of two (MODELS.md)."""
        z = self.rng.normal([batch_size, self.config.z_dim])  # (B, z_dim)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            with tape.stop_recording():
                losses = self._train_d(real, tf.stop_gradient(fake))
            loss, scaled = self._g_loss(real, fake)
        self._apply(self.g_optimizer, tape.gradient(scaled, self.generator.trainable_variables),
                    self.generator.trainable_variables)
        losses["g_loss"] = loss
        return losses

    def _train_d(self, real: tf.Tensor, fake: tf.Tensor) -> dict[str, tf.Tensor]:
        """One D step on real vs fake: the configured loss plus r1_gamma times the R1 penalty."""
        config = self.config
        with tf.GradientTape() as tape:
            seen_real = self._see(real)
            if config.r1_gamma:
                real_logits, r1 = r1_penalty(self.discriminator, seen_real)  # (B, 1), scalar
            else:
                real_logits = self.discriminator(seen_real, training=True)  # (B, 1)
            fake_logits = self.discriminator(self._see(fake), training=True)  # (B, 1)
            loss = d_loss(config.loss, real_logits, fake_logits, config.label_smoothing)
            if config.r1_gamma:
                loss += config.r1_gamma * r1
            # per replica: the summed gradients are the global mean's; scale_loss is the loss itself
            # unless mixed_float16 (gans.dtype_policy)
            scaled = self.d_optimizer.scale_loss(per_replica_loss(loss))
        self._apply(self.d_optimizer, tape.gradient(scaled, self.discriminator.trainable_variables),
                    self.discriminator.trainable_variables)
        return {"d_loss": loss, "r1": r1} if config.r1_gamma else {"d_loss": loss}

    def _train_g(self, real: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
        """One G step on fresh latents against the updated D."""
        z = self.rng.normal([batch_size, self.config.z_dim])  # (B, z_dim)
        with tf.GradientTape() as tape:
            loss, scaled = self._g_loss(real, self.generator(z, training=True))
        self._apply(self.g_optimizer, tape.gradient(scaled, self.generator.trainable_variables),
                    self.generator.trainable_variables)
        return loss

    def _g_loss(self, real: tf.Tensor, fake: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Return G's loss on fake and its scaled form to differentiate; a relativistic loss also shows D the
        reals (constant for G: no gradient reaches it through them)."""
        fake_logits = self.discriminator(self._see(fake), training=True)
        real_logits = self.discriminator(self._see(real), training=True) if self.config.loss in RELATIVISTIC else None
        loss = g_loss(self.config.loss, fake_logits, real_logits)
        return loss, self.g_optimizer.scale_loss(per_replica_loss(loss))

    @staticmethod
    def _apply(optimizer: keras.optimizers.Optimizer, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    def _update_ema(self) -> None:
        """Move the EMA generator towards G; moving BatchNorm statistics are averaged too."""
        if self.ema_generator is None:
            return
        # Warm-up as tf.train.ExponentialMovingAverage(num_updates=...): early on the average follows G
        # closely, so a short run's samples and export are not still the untrained initial weights.
        updates = tf.cast(self.ema_updates.assign_add(1), tf.float32)
        decay = tf.minimum(self.config.ema_decay, (1.0 + updates) / (10.0 + updates))
        for ema_var, var in zip(self.ema_generator.weights, self.generator.weights, strict=True):
            ema_var.assign(decay * ema_var + (1.0 - decay) * var)


def build(config: DCGANConfig) -> DCGAN:
    """Build the DCGAN with the recipe's two Adam optimizers; weights seeded by config.seed.

    A config whose profile is not applied yet is resolved here for this process's devices (the trainer
    resolves before, recording the pick). Every net is built under the config's precision.
    """
    config = config.validate() if config.resolved else resolve_profile(config, has_gpu())
    keras.utils.set_random_seed(config.seed)
    with precision_scope(config.precision):
        model = DCGAN(config)
    model.compile(**adam_players(config))
    return model


def epoch_dataset(config: DCGANConfig, data_dir: Path, epoch: int) -> tf.data.Dataset:
    """Return the batches of epoch `epoch`, in an order fixed by (seed, epoch)."""
    return folder_batches(data_dir, config.image_size, 3, config.batch_size, config.seed, epoch)


def quality_images(model: DCGAN, config: DCGANConfig, data_dir: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return real images vs samples of the sampler from fixed latents, for the sliced Wasserstein distance."""
    return quality_pair(model.sampler, data_dir, config.image_size, 3, config.z_dim, count, config.seed)


def export(model: DCGAN, config: DCGANConfig, export_dir: Path, metadata: dict[str, Any]) -> None:
    """Save the sampler (the EMA generator when kept): serving_default z -> {"images": uint8}."""
    export_declared(DECLARATION, config, export_dir, serve_latents(model.sampler), {"generator": model.sampler},
                    metadata, extra={"config": model.config.to_dict()})  # as trained: the profile applied


SPEC = ModelSpec(
    declaration=DECLARATION,
    build=build,
    resolve=resolve_profile,
    training_images=lambda config, data_dir, n: trained_on_images(data_dir, config.image_size, 3, n, config.seed),
    count_examples=lambda config, data_dir: count_folder_images(data_dir, config.batch_size),
    epoch_dataset=epoch_dataset,
    sample_inputs=lambda config, data_dir: sheet_latents(config.z_dim, config.seed),
    sample_sheet=latent_sheet,
    quality_images=quality_images,
    export=export,
    replicas=True,
)
