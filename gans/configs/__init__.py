"""Each model's config dataclass and its DECLARATION, one module per model, all TF-free (see gans.contract)."""
