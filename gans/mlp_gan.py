"""mlp-gan: the minimal, fully connected GAN (Goodfellow et al. 2014) on 28x28 grey images.

The classic MNIST recipe as the Keras GAN examples write it: a 100-d normal latent, two hidden layers
of 128 with LeakyReLU(0.2) in each net (gans/nets/mlp_gan.py), sigmoid cross-entropy on D's logit
with the non-saturating G loss, Adam(2e-4, beta1 0.5) for both players, batches of 64. Any image
folder is read as grey at image_size (cat faces become 28x28 grey cats); the sample sheet is 8x8,
the quality images and the export are grey: (N, 28, 28, 1).
"""

from __future__ import annotations

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
from gans.configs.mlp_gan import DECLARATION, MLPGANConfig
from gans.dtype_policy import adam_players, precision_scope
from gans.export import export_declared, serve_latents
from gans.losses import sigmoid_bce
from gans.nets.mlp_gan import build_discriminator, build_generator
from gans.spec import ModelSpec
from gans.two_player import TwoPlayerGAN


class MLPGAN(TwoPlayerGAN):
    """Two multilayer perceptrons trained in turn: D one step, then G one step."""

    def __init__(self, config: MLPGANConfig, **kwargs):
        super().__init__(config, build_generator(config), build_discriminator(config), **kwargs)

    def train_step(self, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Update D on real vs fake, then G to fool the updated D; batch (B, S, S, 1)."""
        real = batch[0] if isinstance(batch, tuple) else batch  # fit() may wrap it in a tuple
        batch_size = tf.shape(real)[0]

        # 1. Discriminator: maximise log D(x) + log(1 - D(G(z))), i.e. real -> 1, fake -> 0.
        fake = self.generator(self.rng.normal([batch_size, self.config.z_dim]), training=True)
        with tf.GradientTape() as tape:
            d_loss = (sigmoid_bce(self.discriminator(real, training=True), 1.0)
                      + sigmoid_bce(self.discriminator(fake, training=True), 0.0))
            scaled = self.d_optimizer.scale_loss(d_loss)  # d_loss itself unless mixed_float16 (gans.dtype_policy)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))

        # 2. Generator, non-saturating: maximise log D(G(z)) (target 1) on fresh latents.
        z = self.rng.normal([batch_size, self.config.z_dim])  # (B, z_dim)
        with tf.GradientTape() as tape:
            g_loss = sigmoid_bce(self.discriminator(self.generator(z, training=True), training=True), 1.0)
            scaled = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def build_mlp_gan(config: MLPGANConfig) -> MLPGAN:
    """Build the model with weights seeded by config.seed, compiled with Adam(lr, beta1) per player."""
    config.validate()
    keras.utils.set_random_seed(config.seed)  # Keras' initialisers draw from the global seed
    with precision_scope(config.precision):  # every net under the config's dtype policy
        model = MLPGAN(config)
    model.compile(**adam_players(config))
    return model


SPEC = ModelSpec(
    declaration=DECLARATION,
    build=build_mlp_gan,
    count_examples=lambda config, data_dir: count_folder_images(data_dir, config.batch_size),
    epoch_dataset=lambda config, data_dir, epoch: folder_batches(
        data_dir, config.image_size, 1, config.batch_size, config.seed, epoch),
    sample_inputs=lambda config, data_dir: sheet_latents(config.z_dim, config.seed),
    sample_sheet=latent_sheet,
    quality_images=lambda model, config, data_dir, n: quality_pair(
        model.sampler, data_dir, config.image_size, 1, config.z_dim, n, config.seed),
    training_images=lambda config, data_dir, n: trained_on_images(data_dir, config.image_size, 1, n,
                                                                config.seed),
    export=lambda model, config, export_dir, metadata: export_declared(
        DECLARATION, config, export_dir, serve_latents(model.sampler), {"generator": model.sampler}, metadata),
)
