"""What a reader sees: figures (`plots`), tables (`tables`), the offline explorer (`explorer`), the static site (`site`), and their web assets (`assets/`). Imports `analysis` and below."""
