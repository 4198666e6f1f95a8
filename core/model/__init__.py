"""The network and its data: LeNet-5 and its variants, MNIST (fetched, checksum-verified,
split), and the preprocessing that makes a drawn or uploaded digit look like one.
"""
