"""A model whose train step has a bug (it raises ValueError), defined only in the tests and plugged in through
CATGAN_EXTRA_MODELS: what a real worker does with an error no domain check knows."""

NAME = "broken-step"
EXTRA_MODELS = '{"broken-step": ["tests.support.broken_step.declaration", "tests.support.broken_step.spec"]}'
BUG = "a bug in the train step: operands could not be broadcast together with shapes (8,3) (4,)"
