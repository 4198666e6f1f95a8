"""The run store: one folder per run on disk, read with checks (store), and who owns a run in
classroom mode (owners). Nothing here knows how a run trains.
"""
