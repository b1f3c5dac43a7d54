"""What CNN feature embeddings look like and how well they classify: a literate nbdev study

Modules:

- `featviz.config`: One small, printable configuration for the whole study: quick or full mode, where data, weights and artifacts live, the seed, the device and the architecture.
- `featviz.data`: MNIST and CIFAR-10 as verified uint8 arrays, found wherever they are: a path you pass, `FEATVIZ_DATA`, fastai's download cache or download, or the small sample shipped inside the package."""

__version__ = "0.0.1"
