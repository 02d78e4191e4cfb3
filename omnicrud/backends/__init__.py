"""Built-in backends. Each registers through the ``omnicrud.backends`` entry-point group."""
