"""The science behind the dashboard: convolution arithmetic, MNIST, LeNet-5, training.

Nothing in this package imports Streamlit; everything here is usable from Python
and the command line (`python -m core.model.mnist`, ...).
"""
