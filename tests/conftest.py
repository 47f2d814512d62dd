import os

# scikit-learn's array-API estimator check needs SciPy's array-API mode, which
# SciPy reads once at import: set it before anything imports scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
