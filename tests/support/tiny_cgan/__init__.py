"""A tiny conditional GAN defined only in the tests: plugged in through CATGAN_EXTRA_MODELS, touching nothing else.

`declaration` is its TF-free config and DECLARATION (what the API and core read); `spec` its nets, keras.Model and
SPEC (what the worker trains and exports), built from gans' shared pieces.
"""

NAME = "tiny-cgan"
EXTRA_MODELS = '{"tiny-cgan": ["tests.support.tiny_cgan.declaration", "tests.support.tiny_cgan.spec"]}'
