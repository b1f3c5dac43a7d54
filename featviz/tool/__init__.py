"""The tool for anyone's images and models: `explore`. Imports `report` and below; never the study."""
