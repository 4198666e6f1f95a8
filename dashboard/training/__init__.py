"""The training pages' pieces: the new-run form and the compare page's figures."""
