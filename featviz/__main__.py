"`python -m featviz ...`: the same as the `featviz` console script (`featviz.cli.main`)."
from featviz.cli import main
if __name__ == '__main__': raise SystemExit(main())
