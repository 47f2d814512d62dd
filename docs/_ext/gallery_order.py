"""The order of the gallery: from the first model to the benchmarks."""

ORDER = (
    "plot_mixture.py",
    "plot_restarts.py",
    "plot_model_search.py",
    "plot_hmm_regimes.py",
    "plot_imputation.py",
    "plot_benchmarks.py",
)


class ExampleOrder:
    """Sort key for sphinx-gallery: the files of ``ORDER`` first, in that order."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (ORDER.index(filename) if filename in ORDER else len(ORDER), filename)

    def __repr__(self):
        return f"<{self.__class__.__name__}>"
