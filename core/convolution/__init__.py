"""Convolution as the lecture teaches it: the arithmetic of every case, a numpy reference
conv/pool that torch is checked against, transposed and causal convolutions, the PyTorch code
twin of a setting, and the drill that grades the arithmetic.
"""
