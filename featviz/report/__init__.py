"""What a reader sees: figures (`plots`), the offline explorer (`explorer`), the static site (`site`), and their web assets (`assets/`). Imports `analysis` and below."""
