"""What CNN feature embeddings look like and how well they classify: a literate nbdev study

Modules:

- `featviz.analysis.audit`: Mislabelled, duplicated and leaked images and outliers, found from a CNN's features and the labels: functions on arrays that return ranked tables, and the detection quality each reaches on images whose answers are known.
- `featviz.analysis.baseline`: Before any network: how far do MNIST's average digits get us? The old report's Figure 1 and its 64.5 % baseline, measured.
- `featviz.analysis.cka`: How similar two layers' representations of the same inputs are, up to rotation and scale: linear centered kernel alignment, unbiased by default and computed in feature space so 70,000 rows fit, its minibatch estimator, a layer-by-layer matrix and an interval from subsamples.
- `featviz.analysis.embed`: t-SNE (openTSNE by default, scikit-learn's as an option, UMAP if installed) and the numbers that say how well a feature set and its map separate the classes: silhouette, kNN accuracy, trustworthiness.
- `featviz.analysis.evaluation`: Nearest class mean, logistic regression and random forest on pixels and on each feature set, the fine-tuned CNN, and a linear probe of every layer.
- `featviz.analysis.metrics`: Accuracy, macro-F1 and per-class precision and recall of a classifier's predictions, computed the same way by every chapter that scores one.
- `featviz.cli`: `featviz run` executes the study's notebooks in order and writes their outputs back, `featviz site` renders them to a static report, `featviz info` says what is configured and what is missing.
- `featviz.core.config`: One small, printable configuration for the whole study: quick or full mode, where data, weights and artifacts live, the seed, the device and the architecture.
- `featviz.core.store`: Features, models, tables and figures that later chapters reuse, written atomically under the cache directory.
- `featviz.data.datasets`: MNIST and CIFAR-10 as verified uint8 arrays, found wherever they are: a path you pass, `FEATVIZ_DATA`, fastai's download cache or download, or the small sample shipped inside the package.
- `featviz.data.images`: Image folders (torchvision and fastai layouts, or flat and unlabelled), any format and mode Pillow reads, IDX quartets, NumPy arrays and torch Datasets as one `ImageSet`; broken files skipped and listed; streamed in batches.
- `featviz.engine.backbones`: Every torchvision classification model by name with its ImageNet weights and their own preprocessing, timm models when timm is installed, local checkpoints (including the ResNet v1 stride layout), any `nn.Module`; hookable layers listed with their output shapes.
- `featviz.engine.distributed`: Runs across processes and GPUs with Hugging Face `accelerate`: the rank's device, row shards, a barrier, rank-0-only output, distributed fine-tuning. The feature engine builds its sharded extraction on these.
- `featviz.engine.features`: Batched feature extraction for any feature function over uint8 images, pooled to one row per image, and an on-disk cache keyed by everything that determines the features.
- `featviz.engine.layers`: The outputs of any model's named layers as features, several in one forward pass, through fastai's hooks that are always removed again.
- `featviz.report.explorer`: An offline page for looking at a whole dataset's 2-D maps, layer by layer: tens of thousands of points, the image on hover, the nearest neighbours in feature space with their images on click, filters, and thumbnails on the map.
- `featviz.report.plots`: Label-coloured scatter plots, thumbnail maps that stay readable at 10,000 points, and a self-contained interactive HTML map that shows each image on hover.
- `featviz.report.site`: The executed notebooks as a static HTML site that works offline: nbdev's directives honoured, the chapter navigation of `sidebar.yml` on every page, figures and interactive outputs embedded. Built with nbconvert, no Quarto needed.
- `featviz.report.tables`: One formatter for every table the study shows: integers as integers, floats to a stated precision, p-values through `format_p`, seconds and percentages as such, the index's name in the header row.
- `featviz.study.activation_maps`: What each stage of the ResNet body does with one digit, before and after fine-tuning, and how much of it goes blank.
- `featviz.study.chapters`: What every chapter starts from (settings, seed, artifact store, data, the networks) in one call, and the typed summaries that chapters write and the home page and later chapters read.
- `featviz.study.models`: An ImageNet ResNet body with the old report's head, named so its layers can be hooked; a fastai `Learner` with discriminative learning rates and the fastest precision the device offers; fine-tuning, saving and loading.
- `featviz.study.scattering`: kymatio's `Scattering2D(J=2)` features of MNIST, their t-SNE map and measured cluster quality.
- `featviz.study.verdicts`: Each claim of the old report as a row: what is measured, what would confirm it, the value with its uncertainty, and the verdict, computed from the chapters' saved summaries.
- `featviz.tool.audit`: `audit(data, model, layers)`: the mislabelled, duplicated and leaked images and the outliers of any image set, found from a CNN's cached features, as one table (`audit.csv`), a summary (`audit.json`) and an offline report page.
- `featviz.tool.explore`: `explore(data, model, layers)`: for each layer of any CNN on any image set, cached features, an openTSNE map, cluster metrics, a linear probe, the most isolated images and the most confused class pairs, as tables and one offline report."""

__version__ = "0.0.1"

import warnings as _warnings
# fastai 2.8 decorates a few functions with `torch.jit.script` when it is imported, and torch >= 2.14 answers with a
# FutureWarning that names a file in site-packages. It says nothing about featviz's results, and it would show in the
# first import cell of every chapter of the report: filter exactly that message, nothing else.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
# accelerate (featviz.distributed) imports tqdm.auto, which warns in a notebook kernel without ipywidgets; featviz's
# progress bars are fastprogress's, so that note is noise in the report: filter exactly that message.
_warnings.filterwarnings('ignore', message='IProgress not found')
