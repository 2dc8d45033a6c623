"""Aligned (input, target) image pairs for pix2pix as tf.data pipelines, e.g. edges2cats.

Three sources:
- AB folders, pix2pix's format: each file holds A on the left half and B on the right; the
  direction ("AtoB" or "BtoA", as pix2pix-tensorflow's --which_direction) picks the input.
- Plain photo folders: the input is edge_sketch of the photo (gans.edges), drawn on the photo
  centre-cropped and resized to the load size BEFORE the jitter, so both halves get the same crop.
- Plain photo folders for colourisation: the input is grey_photo of the photo (its luma in all
  three channels, so the export keeps the RGB signature), drawn the same way; the target is the
  colour photo.

Training applies pix2pix's random jitter: resize to load_size (286 for 256), crop the same
random image_size window from input and target, mirror both or neither. Every random draw is a
stateless op seeded by (seed, epoch, position in the epoch), and the file order is NumPy's
permutation of (seed, epoch): a run resumed from a checkpoint at epoch k replays the exact
batches, crops and mirrors it would have seen. training=False is the inference mode: sorted
order, no shuffle, no jitter, straight resize to image_size, partial last batch kept.

Batches are (input, target), each (B, S, S, 3) float32 in [-1, 1]; files that fail to decode
are skipped. AB halves are resized without keeping their aspect ratio, as in pix2pix (they are
square in practice); photos are centre-cropped to a square first, as gans.data does.

Held-out split (gans.holdout, one file = one pair): `part` picks the files. "train" (the default,
whatever `training` says) never reads a held-out file; "quality" reads the held-out files, or the
training files when the folder is too small to hold any out; "all" reads every file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import tensorflow as tf

from gans.configs.pix2pix import DIRECTIONS
from gans.data import IMAGE_EXTENSIONS, held_out_images, list_images, training_images
from gans.edges import EdgeOptions, edge_sketch
from gans.errors import DatasetError

LOAD_RATIO = 286 / 256  # pix2pix: resize to 286, random-crop 256
DEFAULT_EDGE_OPTIONS = EdgeOptions()  # frozen: safe to share as a default
Part = Literal["train", "quality", "all"]


def load_size(image_size: int) -> int:
    """Return the size jitter resizes to before its random crop (286 for 256, 71 for 64)."""
    return int(image_size * LOAD_RATIO)


def count_pair_images(directory: str | Path, part: Part = "train") -> int:
    """Return how many files a pairs dataset of part would read from directory (a listing and hashes)."""
    return len(pair_files(directory, part))


def pair_files(directory: str | Path, part: Part = "train") -> list[str]:
    """Return the sorted image files of part (see the module docstring)."""
    if part == "all":
        return list_images(directory)
    if part == "quality":
        return held_out_images(directory) or training_images(directory)
    return training_images(directory)


def split_ab(image: tf.Tensor, direction: str = "AtoB") -> tuple[tf.Tensor, tf.Tensor]:
    """Split an AB image (H, 2W, C) into (input, target), each (H, W, C), by direction.

    Raises:
        ValueError: direction is not "AtoB" or "BtoA".
    """
    _check_direction(direction)
    half = tf.shape(image)[1] // 2  # an odd width loses its last column
    a, b = image[:, :half], image[:, half:2 * half]  # (H, W, C) each
    return (a, b) if direction == "AtoB" else (b, a)


def jitter(input_image: tf.Tensor, target_image: tf.Tensor, image_size: int,
           seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Resize both to load_size, crop the same window, mirror both or neither (pix2pix jitter).

    Args:
        input_image, target_image: (H, W, C) float32 of the same size and channel count.
        image_size: the side of the crop.
        seed: shape (2,) integer seed of the stateless draws; the same seed, the same jitter.
    """
    channels = input_image.shape[-1]
    size = load_size(image_size)
    # One tensor (H, W, 2C): a single resize, crop and flip cannot drift input from target.
    both = tf.concat([input_image, target_image], axis=-1)
    both = tf.image.resize(both, (size, size), antialias=True)  # (L, L, 2C); same size: no-op
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    both = tf.image.stateless_random_crop(both, (image_size, image_size, 2 * channels),
                                          seed=crop_seed)  # (S, S, 2C)
    both = tf.image.stateless_random_flip_left_right(both, seed=flip_seed)
    both = tf.clip_by_value(both, -1.0, 1.0)
    return both[..., :channels], both[..., channels:]


def ab_pairs_dataset(directory: str | Path, image_size: int = 256, batch_size: int = 1,
                     seed: int = 0, *, direction: str = "AtoB", training: bool = True,
                     epoch: int = 0, part: Part = "train") -> tf.data.Dataset:
    """Return batches of (input, target) from a folder of AB side-by-side images.

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: the folder holds no image files.
        ValueError: direction is unknown.
    """
    _check_direction(direction)

    def load(index: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = _to_unit(_decode(path))  # (H, 2W, 3) in [-1, 1]
        input_image, target = split_ab(image, direction)
        if training:
            return jitter(input_image, target, image_size, _element_seed(seed, epoch, index))
        return _resize(input_image, image_size), _resize(target, image_size)

    return _pairs_dataset(pair_files(directory, part), directory, load, batch_size, seed, training, epoch)


def edge_pairs_dataset(directory: str | Path, image_size: int = 256, batch_size: int = 1,
                       seed: int = 0, *, options: EdgeOptions = DEFAULT_EDGE_OPTIONS,
                       training: bool = True, epoch: int = 0, part: Part = "train") -> tf.data.Dataset:
    """Return batches of (edge sketch, photo) made from a folder of photos.

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: the folder holds no image files.
    """
    def draw(photo: np.ndarray) -> np.ndarray:
        return edge_sketch(photo, options)

    def sketch(photo: tf.Tensor) -> tf.Tensor:
        drawn = tf.numpy_function(draw, [photo], tf.uint8, stateful=False)  # (L, L, 3)
        drawn.set_shape(photo.shape)
        return drawn

    return _photo_pairs_dataset(directory, sketch, image_size, batch_size, seed, training, epoch, part)


def grey_pairs_dataset(directory: str | Path, image_size: int = 256, batch_size: int = 1,
                       seed: int = 0, *, training: bool = True, epoch: int = 0,
                       part: Part = "train") -> tf.data.Dataset:
    """Return batches of (grey photo, colour photo) made from a folder of photos, for colourisation.

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: the folder holds no image files.
    """
    return _photo_pairs_dataset(directory, grey_photo, image_size, batch_size, seed, training, epoch, part)


def grey_photo(photo: tf.Tensor) -> tf.Tensor:
    """Return the luma (ITU-R 601) of uint8 photos (..., H, W, 3) as uint8 (..., H, W, 3), R == G == B.

    Three equal channels rather than one: a colourisation model keeps the RGB export signature, and
    a grey photo decoded as RGB is already its own grey_photo (the weights sum to 1).
    """
    luma = tf.image.rgb_to_grayscale(tf.cast(photo, tf.float32))  # (..., H, W, 1) in [0, 255]
    luma = tf.cast(tf.round(tf.clip_by_value(luma, 0.0, 255.0)), tf.uint8)
    return tf.repeat(luma, 3, axis=-1)


MakeInput = Callable[[tf.Tensor], tf.Tensor]  # photo uint8 (L, L, 3) -> model input uint8 (L, L, 3)


def _photo_pairs_dataset(directory: str | Path, make_input: MakeInput, image_size: int,
                         batch_size: int, seed: int, training: bool, epoch: int, part: Part) -> tf.data.Dataset:
    """Return (make_input(photo), photo) batches: drawn on the load-size photo, then jittered alike."""
    size = load_size(image_size) if training else image_size

    def load(index: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        photo = _centre_square(_decode(path), size)  # (L, L, 3) uint8
        input_image = make_input(photo)  # (L, L, 3) uint8
        if training:
            return jitter(_to_unit(input_image), _to_unit(photo), image_size,
                          _element_seed(seed, epoch, index))
        return _to_unit(input_image), _to_unit(photo)

    return _pairs_dataset(pair_files(directory, part), directory, load, batch_size, seed, training, epoch)


LoadPair = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]  # (position, path) -> pair


def _pairs_dataset(paths: list[str], directory: str | Path, load: LoadPair, batch_size: int, seed: int,
                   training: bool, epoch: int) -> tf.data.Dataset:
    """Order the files of directory, load each as load(position, path), skip failures, batch and prefetch."""
    if not paths:
        raise DatasetError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {directory}")
    if training:
        # NumPy's generator, not TF's: the order must not depend on TF's global seed.
        order = np.random.default_rng([seed, epoch]).permutation(len(paths))
        paths = [paths[i] for i in order]
    # The position is taken before ignore_errors, so a bad file does not shift later seeds.
    files = tf.data.Dataset.from_tensor_slices(paths).enumerate()  # (position, path)
    pairs = files.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    pairs = pairs.ignore_errors()  # one corrupt file must not kill a day-long training run
    return pairs.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)


def _element_seed(seed: int, epoch: int, index: tf.Tensor) -> tf.Tensor:
    """Return the (2,) stateless seed of one element: a function of (seed, epoch, position)."""
    base = tf.constant([seed, epoch], dtype=tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def _decode(path: tf.Tensor) -> tf.Tensor:
    """Read one file as (H, W, 3) uint8; grey and RGBA become RGB, a GIF its first frame."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def _centre_square(image: tf.Tensor, size: int) -> tf.Tensor:
    """Centre-crop image (H, W, 3) uint8 to a square and resize it to (size, size, 3) uint8."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2,
                                          side, side)  # (side, side, 3)
    image = tf.image.resize(image, (size, size), antialias=True)  # float32 in [0, 255]
    image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    image.set_shape((size, size, 3))
    return image


def _resize(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resize image (H, W, 3) in [-1, 1] to (size, size, 3) without jitter."""
    image = tf.image.resize(image, (size, size), antialias=True)
    image = tf.clip_by_value(image, -1.0, 1.0)
    image.set_shape((size, size, 3))
    return image


def _to_unit(image: tf.Tensor) -> tf.Tensor:
    """Map uint8 [0, 255] to float32 [-1, 1], the range of the generator's tanh."""
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def _check_direction(direction: str) -> None:
    """Raise ValueError unless direction is one pix2pix knows."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
