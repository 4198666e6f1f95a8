"""The convolution pages' pieces: the explorer's controls and state, its figures and written-out
sums, the PyTorch code twin, and the groups/causal families."""
