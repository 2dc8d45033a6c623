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
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from gans.common import (
    count_folder_images,
    folder_batches,
    latent_sheet,
    quality_pair,
    sheet_latents,
    trained_on_images,
)
from gans.configs.keras_gan import DECLARATION, KerasGANConfig
from gans.dtype_policy import precision_optimizer, precision_scope
from gans.export import export_declared, serve_latents
from gans.nets.keras_gan import build_discriminator, build_generator
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN

LR_DECAY = 1e-8  # the book's RMSprop(decay=1e-8)


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
            scaled = self.d_optimizer.scale_loss(d_loss)  # d_loss itself unless mixed_float16 (gans.dtype_policy)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))

        # 2. Generator, through D with D's weights held (the book's frozen `gan` model; its dropout
        #    still ran, as train_on_batch runs in the training phase), towards the "misleading
        #    targets" 0 = "real", without noise.
        z = self.rng.normal([batch_size, latent_dim])  # (B, latent_dim)
        misleading_targets = tf.zeros([batch_size, 1])
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(keras.losses.binary_crossentropy(misleading_targets, predictions))
            scaled = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
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
    with precision_scope(config.precision):  # every net under the config's dtype policy
        model = KerasGAN(config)
    model.compile(d_optimizer=precision_optimizer(rmsprop(config.lr_d, config.clipvalue), config.precision),
                  g_optimizer=precision_optimizer(rmsprop(config.lr_g, config.clipvalue), config.precision))
    return model


SPEC = ModelSpec(
    declaration=DECLARATION,
    build=build_keras_gan,
    count_examples=lambda config, data_dir: count_folder_images(data_dir, config.batch_size),
    epoch_dataset=lambda config, data_dir, epoch: folder_batches(
        data_dir, config.image_size, config.channels, config.batch_size, config.seed, epoch),
    sample_inputs=lambda config, data_dir: sheet_latents(config.latent_dim, config.seed),
    sample_sheet=latent_sheet,
    quality_images=lambda model, config, data_dir, n: quality_pair(
        model.sampler, data_dir, config.image_size, config.channels, config.latent_dim, n, config.seed),
    training_images=lambda config, data_dir, n: trained_on_images(data_dir, config.image_size, config.channels, n,
                                                                config.seed),
    export=lambda model, config, export_dir, metadata: export_declared(
        DECLARATION, config, export_dir, serve_latents(model.sampler), {"generator": model.sampler}, metadata),
)
