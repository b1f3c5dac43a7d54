"""What CNN feature embeddings look like and how well they classify: a literate nbdev study

Modules:

- `featviz.cli`: `featviz run` executes the study's notebooks in order and writes their outputs back, `featviz site` renders them to a static report, `featviz info` says what is configured and what is missing.
- `featviz.config`: One small, printable configuration for the whole study: quick or full mode, where data, weights and artifacts live, the seed, the device and the architecture.
- `featviz.data`: MNIST and CIFAR-10 as verified uint8 arrays, found wherever they are: a path you pass, `FEATVIZ_DATA`, fastai's download cache or download, or the small sample shipped inside the package.
- `featviz.site`: The executed notebooks as a static HTML site that works offline: nbdev's directives honoured, the chapter navigation of `sidebar.yml` on every page, figures and interactive outputs embedded. Built with nbconvert, no Quarto needed."""

__version__ = "0.0.1"
