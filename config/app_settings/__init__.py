"""Each app's settings in its own module; config.settings merges them."""
