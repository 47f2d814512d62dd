"""R mclust 6.0.0 log-likelihoods on scikit-learn's iris, wine and breast_cancer.

One ``Mclust(X, G=G, modelNames=M)`` fit per cell, with mclust's defaults
(hierarchical VVV start on the scaled SVD of the data, no prior), for the
four covariance types (full = VVV, tied = EEE, diag = VVI, spherical = VII).
Obtained with ``Rscript`` on the data exported by ``sklearn.datasets.load_*().data``;
the tests hold emlearn to these figures without needing R.
"""

#: (data set, n_components, covariance_type) -> total log-likelihood
MCLUST_LOGLIK = {
    ('iris', 2, 'full'): -214.3547,
    ('iris', 2, 'tied'): -296.4476,
    ('iris', 2, 'diag'): -386.1853,
    ('iris', 2, 'spherical'): -478.5591,
    ('iris', 3, 'full'): -180.1858,
    ('iris', 3, 'tied'): -256.3547,
    ('iris', 3, 'diag'): -307.1808,
    ('iris', 3, 'spherical'): -384.3168,
    ('iris', 4, 'full'): -167.4862,
    ('iris', 4, 'tied'): -250.3587,
    ('iris', 4, 'diag'): -287.8238,
    ('iris', 4, 'spherical'): -348.6801,
    ('wine', 2, 'full'): -3043.0719,
    ('wine', 2, 'tied'): -3263.4519,
    ('wine', 2, 'diag'): -3610.6473,
    ('wine', 2, 'spherical'): -12073.4107,
    ('wine', 3, 'full'): -2788.4299,
    ('wine', 3, 'tied'): -3171.2294,
    ('wine', 3, 'diag'): -3294.2703,
    ('wine', 3, 'spherical'): -11183.6335,
    ('wine', 4, 'full'): -2691.7145,
    ('wine', 4, 'tied'): -3128.0037,
    ('wine', 4, 'diag'): -3219.5155,
    ('wine', 4, 'spherical'): -10663.4265,
    ('breast_cancer', 2, 'full'): 22974.8340,
    ('breast_cancer', 2, 'tied'): 18640.9065,
    ('breast_cancer', 2, 'diag'): 4067.4973,
    ('breast_cancer', 2, 'spherical'): -92574.8730,
    ('breast_cancer', 3, 'full'): 24863.9853,
    ('breast_cancer', 3, 'tied'): 18825.9763,
    ('breast_cancer', 3, 'diag'): 5308.5785,
    ('breast_cancer', 3, 'spherical'): -86301.0595,
    ('breast_cancer', 4, 'full'): 26197.0779,
    ('breast_cancer', 4, 'tied'): 18964.0725,
    ('breast_cancer', 4, 'diag'): 6560.6988,
    ('breast_cancer', 4, 'spherical'): -83244.9263,
}

#: "Reaching" mclust: a log-likelihood at least this close below its figure.
TOLERANCE = 0.01
