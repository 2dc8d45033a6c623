"""The loops a job is measured against (TensorFlow side; runs in bench.child).

- `Bare`: the model's own `train_step` under `tf.function` on in-memory batches, synchronised once per block.
- `Tutorial`: TensorFlow's DCGAN tutorial step on the same nets: one generator forward, two tapes,
  batches from `tf.data` over an in-memory tensor.
- `Fit`: the same `train_step` driven by Keras' `fit` with `steps_per_execution`.
- `matmul_seconds`: a large float32 matmul, the machine's dense FLOP/s in this run.
- `step_flops`: a DCGAN step's FLOPs counted from its layer shapes.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from gans.configs.dcgan import DCGANConfig, resolve_profile
from gans.data import image_folder_dataset
from gans.dcgan import build
from gans.dtype_policy import precision_scope
from gans.losses import sigmoid_bce
from gans.nets.dcgan import build_discriminator, build_generator

# the cpu profile as shipped; the same without DiffAugment and EMA (as the tutorial); the cpu profile in float32,
# in mixed_bfloat16, and in float32 compiled by XLA (bench.figures.precision); the cpu profile with one G forward
# a step (reuse_fakes, bench.figures.step)
RECIPES = ("cpu", "plain", "cpu-float32", "cpu-bf16", "cpu-xla", "cpu-reuse")
_EXTRA = {"cpu": {}, "plain": {"diffaugment": False, "ema_decay": 0.0}, "cpu-float32": {"precision": "float32"},
          "cpu-bf16": {"precision": "mixed_bfloat16"}, "cpu-xla": {"precision": "float32", "jit_compile": True},
          "cpu-reuse": {"reuse_fakes": True}}


def recipe_config(recipe: str, image_size: int, batch_size: int) -> DCGANConfig:
    """The cpu profile's config at this size and batch; "plain" turns DiffAugment and the EMA off, the
    cpu-* recipes fix its precision (and XLA)."""
    extra = _EXTRA[recipe]
    config = DCGANConfig(profile="cpu", image_size=image_size, batch_size=batch_size, seed=0, **extra)
    return resolve_profile(config, has_gpu=False)


def memory_images(data: Path, image_size: int, batch_size: int, batches: int) -> tf.Tensor:
    """The first `batches` batches of the folder, decoded once: (N, S, S, 3) float32 in [-1, 1]."""
    dataset = image_folder_dataset(data, image_size, batch_size, 0, epoch=0)
    return tf.concat(list(dataset.take(batches)), axis=0)


class Bare:
    """The model's train_step, compiled, over in-memory batches; the host waits once per block of steps."""

    def __init__(self, config: DCGANConfig, images: tf.Tensor) -> None:
        self.model = build(config)
        self.step = tf.function(self.model.train_step, jit_compile=config.jit_compile)
        size = config.batch_size
        self.batches = [images[i:i + size] for i in range(0, int(images.shape[0]) - size + 1, size)]

    def run(self, steps: int) -> float:
        """Wall seconds of `steps` steps."""
        start = time.perf_counter()
        losses = {}
        for index in range(steps):
            losses = self.step(self.batches[index % len(self.batches)])
        float(losses["g_loss"])
        return time.perf_counter() - start


class Tutorial:
    """The TF DCGAN tutorial's step on these nets: G once, D on real and fake, both updated from two tapes."""

    def __init__(self, config: DCGANConfig, images: tf.Tensor) -> None:
        keras.utils.set_random_seed(config.seed)
        self.config = config
        with precision_scope(config.precision):  # the job's dtype policy: the ratio compares loops, not dtypes
            self.generator, self.discriminator = build_generator(config), build_discriminator(config)
        self.g_optimizer = keras.optimizers.Adam(config.lr_g, beta_1=config.beta1)
        self.d_optimizer = keras.optimizers.Adam(config.lr_d, beta_1=config.beta1)
        dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(int(images.shape[0]), seed=0).repeat()
        self.batches = iter(dataset.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
        self.step = tf.function(self._step, jit_compile=config.jit_compile)

    def _step(self, images: tf.Tensor) -> tf.Tensor:
        noise = tf.random.normal([self.config.batch_size, self.config.z_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = self.generator(noise, training=True)
            real = self.discriminator(images, training=True)
            fake = self.discriminator(generated, training=True)
            g_loss = sigmoid_bce(fake, 1.0)
            d_loss = sigmoid_bce(real, self.config.label_smoothing) + sigmoid_bce(fake, 0.0)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))
        return g_loss

    def run(self, steps: int) -> float:
        """Wall seconds of `steps` steps, the batches drawn from the tf.data iterator as the tutorial does."""
        start = time.perf_counter()
        loss = tf.constant(0.0)
        for _ in range(steps):
            loss = self.step(next(self.batches))
        float(loss)
        return time.perf_counter() - start


class Fit:
    """The model's train_step under `fit(steps_per_execution=K)` over an in-memory tf.data pipeline."""

    def __init__(self, config: DCGANConfig, images: tf.Tensor, per_execution: int) -> None:
        self.model = build(config)
        self.model.steps_per_execution = per_execution  # what compile(steps_per_execution=K) sets
        self.model.jit_compile = config.jit_compile
        self.per_execution = per_execution
        self.dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(
            config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def run(self, steps: int) -> float:
        """Wall seconds of one `fit` epoch of `steps` steps (rounded up to whole executions)."""
        steps = -(-steps // self.per_execution) * self.per_execution
        start = time.perf_counter()
        self.model.fit(self.dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        return time.perf_counter() - start


def matmul_seconds(size: int, repeats: int) -> float:
    """Wall seconds of `repeats` (size x size) float32 matmuls, each 2*size**3 FLOPs."""
    a = tf.random.stateless_normal([size, size], seed=[1, 2])
    b = tf.random.stateless_normal([size, size], seed=[3, 4])
    float(tf.matmul(a, b)[0, 0])  # warm: the kernel's thread pool
    start = time.perf_counter()
    total = tf.zeros([size, size])
    for _ in range(repeats):
        total = tf.matmul(a, b) + total * 0.0  # each depends on the last: no overlap hides a slow one
    float(total[0, 0])
    return time.perf_counter() - start


def forward_macs(model: keras.Model) -> int:
    """Multiply-adds of one image's forward pass: convs Hout*Wout*Cout*k*k*Cin, transposed convs
    Hin*Win*Cin*k*k*Cout, dense in*out; normalisation and activations left out."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, height, width, channels = layer.input.shape
            total += height * width * channels * layer.kernel_size[0] * layer.kernel_size[1] * layer.filters
        elif isinstance(layer, layers.Conv2D):
            _, height, width, filters = layer.output.shape
            channels = layer.input.shape[-1]
            total += height * width * filters * layer.kernel_size[0] * layer.kernel_size[1] * channels
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def step_flops(config: DCGANConfig) -> dict[str, int]:
    """FLOPs of one DCGAN train_step (2 per multiply-add; a backward pass taken as 2x its forward).

    D update: G forward outside the tape (1 G) and D on real and fake, forward and backward (3 x 2 D);
    G update: G and D forward and backward (3 x (G + D)). Per image: 4 G + 9 D; with reuse_fakes the D update
    takes its fakes from the G update's forward pass: 3 G + 9 D; the tutorial's step 3 G + 6 D.
    """
    plain = dataclasses.replace(config, diffaugment=False, ema_decay=0.0)
    g_macs, d_macs = forward_macs(build_generator(plain)), forward_macs(build_discriminator(plain))
    batch = config.batch_size
    return {"generator_forward": 2 * g_macs, "discriminator_forward": 2 * d_macs,
            "step": 2 * batch * ((3 if config.reuse_fakes else 4) * g_macs + 9 * d_macs),
            "tutorial_step": 2 * batch * (3 * g_macs + 6 * d_macs)}
