"""What a trained run says: its evaluation on the test set, attribution, robustness, the
embedding of its features, comparison of runs, and the background job that computes the slow
parts.
"""
