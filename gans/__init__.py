"""GANs in pure TensorFlow/Keras; import submodules directly (gans.config loads no TensorFlow)."""
