"""What every two-player GAN model shares: its nets, a checkpointable rng, one optimizer per player."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from gans.replicas import SharedGenerator


class TwoPlayerGAN(keras.Model):
    """A generator and a discriminator trained in turn (keras-io style); subclasses write train_step."""

    def __init__(self, config: Any, generator: keras.Model, discriminator: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.generator = generator
        self.discriminator = discriminator
        # All of train_step's randomness comes from this checkpointed generator, so a resumed run
        # draws exactly what the uninterrupted run would have; replicas share its stream (gans.replicas).
        self.rng = SharedGenerator.from_seed(config.seed)

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer) -> None:
        """Attach one optimizer per player and create their variables now (see TrainableGAN)."""
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def sampler(self) -> keras.Model:
        """The generator to sample and export with."""
        return self.generator

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Generate images (B, S, S, C) in [-1, 1] from latents z (B, z_dim)."""
        return self.sampler(z, training=training)

    def trackables(self) -> dict[str, Any]:
        """The nets, optimizers and rng: what an exact resume needs (subclasses add their own state)."""
        return dict(generator=self.generator, discriminator=self.discriminator, g_optimizer=self.g_optimizer,
                    d_optimizer=self.d_optimizer, rng=self.rng)
