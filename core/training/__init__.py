"""Training a run: what a run is (config), what one step needs (steps), the loop, its
data-parallel workers, the disk it needs, the command line (`python -m core.training`, or
`python -m core.train`) and the jobs that wait for a slot and then train.
"""
